"""``bilstm-attn train-translator | translate``: the seq2seq translator from the shell."""

from __future__ import annotations

import argparse

from bilstm_attn.cli._classify import DATA_HELP, _chunk_flag, _positive, _say
from bilstm_attn.cli._io import (
    CommandError,
    add_estimator_flags,
    estimator_params,
    iter_table,
    read_table,
)
from bilstm_attn.cli._models import build_estimator, fit_estimator, load_model, write_atomically
from bilstm_attn.translator import Seq2SeqTranslator

__all__ = ["add_parsers"]


def _train(args: argparse.Namespace) -> int:
    params = estimator_params(args, Seq2SeqTranslator)
    model = build_estimator(Seq2SeqTranslator, params, args.quiet)
    wanted = {"--source-col": args.source_col, "--target-col": args.target_col}
    frame = read_table(args.data, wanted, (args.source_col, args.target_col))
    _say(args, f"Read {len(frame)} text pairs from {args.data}; training Seq2SeqTranslator...")
    seconds = fit_estimator(model, frame[args.source_col], frame[args.target_col])
    model.save(args.output)
    _say(
        args,
        f"Trained {len(model.history_)} epochs in {seconds:.1f}s (best epoch "
        f"{model.best_epoch_}). Saved the model to {args.output}",
    )
    return 0


def _translate(args: argparse.Namespace) -> int:
    model = load_model(args.model, Seq2SeqTranslator, "predict")
    if args.beam_size is not None:
        model.set_params(beam_size=args.beam_size)
    if (args.data is None) == (not args.text):
        raise CommandError("give either a data file or --text, not both and not neither")
    if args.text:
        for text in args.text:
            result = model.translate(text)
            print(result.text)
            if args.show_attention:
                print(result.to_ansi())
        return 0
    keep = list(args.keep_columns or [])
    if "translation" in keep:
        raise CommandError("--keep-columns 'translation' has the name of the output column")
    wanted = {"--source-col": args.source_col} | {f"--keep-columns {c}": c for c in keep}
    rows = 0

    def write(handle) -> None:
        nonlocal rows
        for chunk in iter_table(args.data, wanted, (args.source_col,), args.chunksize):
            out = chunk[keep].copy()
            out["translation"] = model.predict(chunk[args.source_col])
            out.to_csv(handle, header=rows == 0, index=False)
            rows += len(chunk)

    write_atomically(args.output, write)
    if args.output != "-":
        _say(args, f"Wrote {rows} translations to {args.output}")
    return 0


def add_parsers(commands) -> None:
    """The ``train-translator`` and ``translate`` subcommands."""
    train = commands.add_parser(
        "train-translator",
        help="train a seq2seq translator on text pairs and save it",
        description="Train a Seq2SeqTranslator on a table of source and target texts and "
        "save it to a directory.",
    )
    train.add_argument("data", help=DATA_HELP)
    train.add_argument("--source-col", default="source", help="column of sources (default: source)")
    train.add_argument("--target-col", default="target", help="column of targets (default: target)")
    train.add_argument("-o", "--output", required=True, metavar="DIR", help="model directory")
    train.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    add_estimator_flags(train, Seq2SeqTranslator)
    train.set_defaults(run=_train)

    translate = commands.add_parser(
        "translate",
        help="translate texts with a saved translator",
        description="Translate a table's source column into a CSV with a `translation` "
        "column (or --text, printed).",
    )
    translate.add_argument("model", help="a directory written by `bilstm-attn train-translator`")
    translate.add_argument("data", nargs="?", help=DATA_HELP)
    translate.add_argument("--text", nargs="+", help="texts to translate instead of a file")
    translate.add_argument("-o", "--output", default="-", help="output CSV (default '-': stdout)")
    translate.add_argument("--source-col", default="source", help="column of sources")
    translate.add_argument("--keep-columns", nargs="+", metavar="COL", help="input columns to copy")
    translate.add_argument("--beam-size", type=_positive, help="beam width (default: as saved)")
    translate.add_argument(
        "--show-attention", action="store_true", help="with --text: print the attention matrix"
    )
    _chunk_flag(translate)
    translate.add_argument("--quiet", action="store_true", help="no messages")
    translate.set_defaults(run=_translate)
