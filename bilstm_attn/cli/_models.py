"""Building, fitting, loading and writing for the commands, with one-line errors."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bilstm_attn._files import atomic_path
from bilstm_attn.cli._io import (
    CommandError,
    EstimatorSpec,
    add_estimator_flags,
    estimator_params,
    iter_table,
)

__all__ = [
    "add_train_command",
    "build_estimator",
    "fit_estimator",
    "load_model",
    "say",
    "train_and_save",
    "write_atomically",
    "write_chunks",
]

DATA_HELP = "a .csv, .tsv, .jsonl or .parquet file (CSV, TSV, JSON Lines may be .gz)"


def say(args: argparse.Namespace, message: str) -> None:
    """A progress message on standard error, unless --quiet."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def add_train_command(commands, name: str, estimator: EstimatorSpec, help: str, description: str):
    """A training subcommand: the data file, -o DIR, --quiet and one flag per parameter.

    The caller adds the column flags and ``set_defaults(run=...)``.
    """
    command = commands.add_parser(name, help=help, description=description)
    command.add_argument("data", help=DATA_HELP)
    command.add_argument("-o", "--output", required=True, metavar="DIR", help="model directory")
    command.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    add_estimator_flags(command, estimator)
    return command


def train_and_save(args: argparse.Namespace, cls: type, X, y, what: str) -> int:
    """Build the estimator from the flags, fit it on X, y, save it to --output, report."""
    model = build_estimator(cls, estimator_params(args, cls), args.quiet)
    say(args, f"Read {what} from {args.data}; training {cls.__name__}...")
    seconds = fit_estimator(model, X, y)
    model.save(args.output)
    last = model.history_[-1] if model.history_ else {}
    scores = [f"validation {k.removeprefix('valid_')} {v:.4f}" for k, v in last.items()
              if k.startswith("valid_")]  # fmt: skip
    say(
        args,
        f"Trained {len(model.history_)} epochs in {seconds:.1f}s (best epoch "
        f"{model.best_epoch_}{''.join(', ' + s for s in scores)}). Saved the model to "
        f"{args.output}",
    )
    return 0


def write_chunks(
    args: argparse.Namespace,
    text_column: str,
    text_flag: str,
    fill: Callable[[pd.Series, pd.DataFrame], None],
    outputs: list[str],
) -> int:
    """Read --data in chunks, let ``fill(texts, out)`` add the ``outputs`` columns, write CSV.

    ``out`` starts with the --keep-columns of the chunk, as read; one that has the name
    of an output column is written as ``<name>_input``. An input without rows gives a
    CSV of the header alone. The file appears at --output only when complete. Returns
    the number of rows written.
    """
    keep = list(dict.fromkeys(args.keep_columns or []))
    renamed = _renamed_kept_columns(args, keep, outputs)
    wanted = {text_flag: text_column} | {f"--keep-columns {c}": c for c in keep}
    rows = 0

    def write(handle) -> None:
        nonlocal rows
        for chunk in iter_table(args.data, wanted, (text_column,), args.chunksize):
            if chunk.empty:
                continue
            out = chunk[keep].rename(columns=renamed)
            fill(chunk[text_column], out)
            out.to_csv(handle, header=rows == 0, index=False)
            rows += len(chunk)
        if rows == 0:
            columns = [renamed.get(c, c) for c in keep] + outputs
            pd.DataFrame(columns=columns).to_csv(handle, index=False)

    write_atomically(args.output, write)
    return rows


def _renamed_kept_columns(
    args: argparse.Namespace, keep: list[str], outputs: list[str]
) -> dict[str, str]:
    renamed = {c: f"{c}_input" for c in keep if c in outputs}
    taken = set(outputs) | {c for c in keep if c not in renamed}
    for column, name in renamed.items():
        if name in taken:
            raise CommandError(
                f"--keep-columns {column!r} has the name of an output column, and "
                f"{name!r}, the name it would be kept under, is taken too; rename a column"
            )
        say(args, f"The kept column {column!r} is written as {name!r} (the output has "
                  f"a {column!r} column).")  # fmt: skip
    return renamed


def build_estimator(cls: type, params: dict, quiet: bool):
    """The estimator from the flags, its parameters checked before any data is read."""
    from sklearn.utils._param_validation import InvalidParameterError  # not for --help

    estimator = cls(**params, verbose=0 if quiet else 1)
    try:
        estimator._validate_params()
    except InvalidParameterError as error:
        raise CommandError(str(error)) from None
    return estimator


def fit_estimator(estimator, X, y) -> float:
    """Fit, turning a complaint about the data into a CommandError; return the seconds."""
    from bilstm_attn.exceptions import ModelFileError, TrainingDivergedError

    started = time.perf_counter()
    try:
        estimator.fit(X, y)
    except (
        ValueError,
        TypeError,
        FileNotFoundError,
        ModelFileError,
        TrainingDivergedError,
    ) as error:
        raise CommandError(str(error).strip().splitlines()[0]) from None
    return time.perf_counter() - started


def load_model(path: str, cls: type, other_command: str):
    """A saved model of class ``cls``, or a CommandError that says what to do."""
    from bilstm_attn.exceptions import ModelFileError
    from bilstm_attn.persistence import load

    if not os.path.isdir(path):
        raise CommandError(f"no model directory at {path!r} (`bilstm-attn train -o DIR` makes one)")
    try:
        model = load(path)
    except ModelFileError as error:
        raise CommandError(str(error)) from None
    if not isinstance(model, cls):
        raise CommandError(
            f"{path!r} holds a {type(model).__name__}; use `bilstm-attn {other_command}` for it"
        )
    return model


def write_atomically(path: str, write: Callable) -> None:
    """Call ``write(handle)`` on a text file that appears at ``path`` only when complete.

    ``-`` writes to standard output instead.
    """
    if path == "-":
        write(sys.stdout)
        sys.stdout.flush()
        return
    target = Path(path)
    if not target.parent.is_dir():
        raise CommandError(
            f"cannot write {path!r}: the folder {str(target.parent)!r} does not exist"
        )
    if target.is_dir():
        raise CommandError(f"cannot write {path!r}: it is a directory")
    with atomic_path(target) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="") as stream:
            write(stream)
