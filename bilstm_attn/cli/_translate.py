"""``bilstm-attn train-translator | translate``: the seq2seq translator from the shell."""

from __future__ import annotations

import argparse

import pandas as pd

from bilstm_attn.cli._io import (
    CommandError,
    EstimatorSpec,
    add_chunk_flag,
    positive_int,
    read_table,
)
from bilstm_attn.cli._models import (
    DATA_HELP,
    add_train_command,
    load_model,
    say,
    train_and_save,
    write_chunks,
)

__all__ = ["add_parsers"]

TRANSLATOR = EstimatorSpec("bilstm_attn.translator", "Seq2SeqTranslator")


def _train(args: argparse.Namespace) -> int:
    wanted = {"--source-col": args.source_col, "--target-col": args.target_col}
    frame = read_table(args.data, wanted, (args.source_col, args.target_col))
    sources, targets = frame[args.source_col], frame[args.target_col]
    what = f"{len(frame)} text pairs"
    return train_and_save(args, TRANSLATOR.load(), sources, targets, what)


def _translate(args: argparse.Namespace) -> int:
    model = load_model(args.model, TRANSLATOR.load(), "predict")
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

    def fill(sources: pd.Series, out: pd.DataFrame) -> None:
        out["translation"] = model.predict(sources)

    rows = write_chunks(args, args.source_col, "--source-col", fill, ["translation"])
    if args.output != "-":
        say(args, f"Wrote {rows} translations to {args.output}")
    return 0


def add_parsers(commands) -> None:
    """The ``train-translator`` and ``translate`` subcommands."""
    train = add_train_command(
        commands,
        "train-translator",
        TRANSLATOR,
        help="train a seq2seq translator on text pairs and save it",
        description="Train a Seq2SeqTranslator on a table of source and target texts and "
        "save it to a directory.",
    )
    train.add_argument("--source-col", default="source", help="column of sources (default: source)")
    train.add_argument("--target-col", default="target", help="column of targets (default: target)")
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
    translate.add_argument("--beam-size", type=positive_int, help="beam width (default: as saved)")
    translate.add_argument(
        "--show-attention", action="store_true", help="with --text: print the attention matrix"
    )
    add_chunk_flag(translate)
    translate.add_argument("--quiet", action="store_true", help="no messages")
    translate.set_defaults(run=_translate)
