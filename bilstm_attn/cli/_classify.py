"""``bilstm-attn train | predict | explain | evaluate``: the classifier from the shell."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from bilstm_attn.cli._io import (
    CommandError,
    EstimatorSpec,
    add_chunk_flag,
    iter_table,
    positive_int,
    read_table,
)
from bilstm_attn.cli._models import (
    DATA_HELP,
    add_train_command,
    load_model,
    say,
    train_and_save,
    write_atomically,
    write_chunks,
)

__all__ = ["add_parsers"]

CLASSIFIER = EstimatorSpec("bilstm_attn.classifier", "BiLSTMAttentionClassifier")


def _train(args: argparse.Namespace) -> int:
    wanted = {"--text-col": args.text_col, "--label-col": args.label_col}
    frame = read_table(args.data, wanted, (args.text_col,), (args.label_col,))
    labels = frame[args.label_col]
    what = f"{len(frame)} texts with {labels.nunique()} labels"
    return train_and_save(args, CLASSIFIER.load(), frame[args.text_col], labels, what)


def _predict(args: argparse.Namespace) -> int:
    model = load_model(args.model, CLASSIFIER.load(), "translate")
    probability_columns = [f"proba_{c}" for c in model.classes_]

    def fill(texts: pd.Series, out: pd.DataFrame) -> None:
        proba = model.predict_proba(texts)
        out["label"] = model.classes_[proba.argmax(axis=1)]
        out[probability_columns] = proba.round(7)  # kept columns are written as read

    outputs = ["label", *probability_columns]
    rows = write_chunks(args, args.text_col, "--text-col", fill, outputs)
    say(args, f"Wrote {rows} predictions to {args.output}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    model = load_model(args.model, CLASSIFIER.load(), "translate")
    if (args.data is None) == (not args.text):
        raise CommandError("give either a data file or --text, not both and not neither")
    if args.text:
        texts = list(args.text)
    else:
        chunk = next(
            iter_table(args.data, {"--text-col": args.text_col}, (args.text_col,), args.limit), None
        )
        if chunk is None or chunk.empty:
            raise CommandError(f"{args.data!r} has no data rows")
        texts = list(chunk[args.text_col])
    explanations = model.explain(texts, method=args.method, n_steps=args.steps)
    if args.output:
        from bilstm_attn.render import html_document

        page = html_document([explanation.to_html() for explanation in explanations])
        write_atomically(args.output, lambda handle: handle.write(page))
        say(args, f"Wrote {len(explanations)} explanations ({args.method}) to {args.output}")
        return 0
    color = args.color if args.color is not None else sys.stdout.isatty()
    for explanation in explanations:
        print(f"[{explanation.label} {explanation.proba:.2f}] {explanation.to_ansi(color=color)}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from sklearn.metrics import accuracy_score, classification_report

    model = load_model(args.model, CLASSIFIER.load(), "translate")
    wanted = {"--text-col": args.text_col, "--label-col": args.label_col}
    truth, predicted = [], []
    for chunk in iter_table(args.data, wanted, (args.text_col,), args.chunksize, (args.label_col,)):
        if not chunk.empty:
            predicted.append(model.predict(chunk[args.text_col]))
            truth.append(chunk[args.label_col])
    if not truth:
        raise CommandError(f"{args.data!r} has no data rows")
    y_true, y_pred, unknown = _align(
        pd.concat(truth, ignore_index=True), np.concatenate(predicted), model.classes_
    )
    print(f"Accuracy: {accuracy_score(y_true, y_pred):.4f} on {len(y_true)} texts")
    if unknown:
        classes = ", ".join(str(c) for c in model.classes_.tolist())
        print(
            f"Labels the model never saw (always counted wrong): {', '.join(unknown)}; "
            f"the model's classes are {classes}"
        )
        if len(unknown) == len(set(map(str, y_true.tolist()))):
            print(f"None of the labels in {args.data!r} is a class of the model: is "
                  f"--label-col {args.label_col!r} the column of its labels?")  # fmt: skip
    print(classification_report(y_true, y_pred, digits=4, zero_division=0))
    if args.confusion_matrix:
        _confusion_png(y_true, y_pred, args.confusion_matrix)
        print(f"Confusion matrix written to {args.confusion_matrix}")
    return 0


def _align(truth: pd.Series, predicted: np.ndarray, classes: np.ndarray):
    """Match file labels to the model's classes (a CSV reads "1" as 1, JSON may not)."""
    known = set(classes.tolist())
    by_text = {str(c): c for c in classes.tolist()}
    values = [v if v in known else by_text.get(str(v), v) for v in truth.tolist()]
    unknown = sorted({str(v) for v in values if v not in known})
    if unknown:  # mixed kinds of labels: compare them as text
        return np.array([str(v) for v in values]), predicted.astype(str), unknown
    y_true = np.empty(len(values), dtype=object)
    y_true[:] = values
    return y_true, predicted, unknown


def _confusion_png(y_true, y_pred, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CommandError(
            "--confusion-matrix needs matplotlib: pip install 'bilstm-attn[plot]'"
        ) from None
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = sorted(set(y_true.tolist()) | set(y_pred.tolist()), key=str)
    size = max(4.0, 0.5 * len(labels) + 2)
    figure, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, ax=ax, colorbar=False, xticks_rotation="vertical"
    )
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=120)
    except OSError as error:
        raise CommandError(f"cannot write {path!r}: {error.strerror or error}") from None
    finally:
        plt.close(figure)


# --------------------------------------------------------------------- parsers
def _data_flags(command: argparse.ArgumentParser, labels: bool) -> None:
    command.add_argument("--text-col", default="text", help="column of texts (default: text)")
    if labels:
        command.add_argument(
            "--label-col", default="label", help="column of labels (default: label)"
        )


def add_parsers(commands) -> None:
    """The ``train``, ``predict``, ``explain`` and ``evaluate`` subcommands."""
    train = add_train_command(
        commands,
        "train",
        CLASSIFIER,
        help="train a classifier on labelled texts and save it",
        description="Train a BiLSTMAttentionClassifier on a table of texts and labels and "
        "save it to a directory (config.json, model.safetensors, tokenizer.json).",
    )
    _data_flags(train, labels=True)
    train.set_defaults(run=_train)

    predict = commands.add_parser(
        "predict",
        help="predict labels and class probabilities for a table of texts",
        description="Write a CSV with the predicted label and one proba_<class> column per "
        "class (rounded to 7 decimals), one row per input row, in order, after any "
        "--keep-columns copied as read. Large inputs are read in chunks.",
    )
    predict.add_argument("model", help="a directory written by `bilstm-attn train`")
    predict.add_argument("data", help=DATA_HELP)
    predict.add_argument("-o", "--output", required=True, help="output CSV ('-': stdout)")
    _data_flags(predict, labels=False)
    predict.add_argument("--keep-columns", nargs="+", metavar="COL", help="input columns to copy")
    add_chunk_flag(predict)
    predict.add_argument("--quiet", action="store_true", help="no messages")
    predict.set_defaults(run=_predict)

    explain = commands.add_parser(
        "explain",
        help="show which words each prediction rested on",
        description="Explain the predictions for the first --limit texts of a file (or "
        "--text): an HTML report with -o, else highlighted words in the terminal.",
    )
    explain.add_argument("model", help="a directory written by `bilstm-attn train`")
    explain.add_argument("data", nargs="?", help=DATA_HELP)
    explain.add_argument("--text", nargs="+", help="texts to explain instead of a file")
    explain.add_argument("-o", "--output", metavar="HTML", help="write an HTML report")
    _data_flags(explain, labels=False)
    explain.add_argument(
        "--method",
        choices=("attention", "integrated_gradients", "occlusion"),
        default="attention",
        help="attribution method (default: attention)",
    )
    explain.add_argument("--limit", type=positive_int, default=20, help="texts (default: 20)")
    explain.add_argument(
        "--steps", type=positive_int, default=50, help="integrated-gradients steps (default 50)"
    )
    explain.add_argument(
        "--color",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="colour in the terminal (default: when it is a terminal)",
    )
    explain.add_argument("--quiet", action="store_true", help="no messages")
    explain.set_defaults(run=_explain)

    evaluate = commands.add_parser(
        "evaluate",
        help="accuracy, a classification report and a confusion matrix on labelled texts",
    )
    evaluate.add_argument("model", help="a directory written by `bilstm-attn train`")
    evaluate.add_argument("data", help=DATA_HELP)
    _data_flags(evaluate, labels=True)
    evaluate.add_argument("--confusion-matrix", metavar="PNG", help="write the matrix as a PNG")
    add_chunk_flag(evaluate)
    evaluate.set_defaults(run=_evaluate)
