"""The ``bilstm-attn`` command.

``demo``, ``train``, ``predict``, ``explain``, ``evaluate``, ``train-translator`` and
``translate``; ``bilstm-attn COMMAND --help`` for each. A problem with the input (a
missing file or column, an empty label, a bad value) is one line on standard error
and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from bilstm_attn.cli import _classify, _demo, _translate
from bilstm_attn.cli._io import CommandError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bilstm-attn",
        description="Text classification with a BiLSTM and attention that shows which "
        "words each prediction rested on, and a seq2seq translator on the same attention.",
        epilog="Run `bilstm-attn COMMAND --help` for the options of each command.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _demo.add_parser(commands)
    _classify.add_parsers(commands)
    _translate.add_parsers(commands)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"bilstm-attn: {category.__name__}: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "check"):
        args.check(parser, args)
    previous = warnings.formatwarning
    warnings.formatwarning = _one_line_warning
    try:
        return args.run(args)
    except CommandError as error:
        print(f"bilstm-attn {args.command}: error: {error}", file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = previous
