"""Reading and writing tables for the command line, and estimator parameters as flags.

Every problem a user can cause (a missing file or column, an empty label, a bad
value) is raised as ``CommandError``, which the command line prints as one line and
turns into exit status 2.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "CommandError",
    "EstimatorSpec",
    "add_chunk_flag",
    "add_estimator_flags",
    "estimator_params",
    "iter_table",
    "positive_int",
    "read_table",
    "table_columns",
]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
FORMATS |= {".parquet": "parquet", ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zst", ".zip")


class CommandError(Exception):
    """A problem with what the user gave; printed as one line, exit status 2."""


# --------------------------------------------------------------------- reading
def table_format(path: str | os.PathLike) -> str:
    """ "csv", "tsv", "jsonl" or "parquet", from the file name (a .gz etc. suffix allowed)."""
    name = os.fspath(path).lower()
    for suffix in _COMPRESSION:
        name = name.removesuffix(suffix)
    kind = FORMATS.get(Path(name).suffix)
    if kind is None:
        raise CommandError(
            f"cannot tell the format of {os.fspath(path)!r} from its name; use a .csv, .tsv, "
            f".jsonl or .parquet file (CSV, TSV and JSON Lines may end in .gz)"
        )
    return kind


def _check_file(path: str | os.PathLike) -> None:
    if not os.path.exists(path):
        raise CommandError(f"no such file: {os.fspath(path)!r}")
    if os.path.isdir(path):
        raise CommandError(f"{os.fspath(path)!r} is a directory, not a data file")


def _parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CommandError(
            "reading Parquet needs pyarrow: pip install 'bilstm-attn[parquet]'"
        ) from None
    return pq


def table_columns(path: str | os.PathLike) -> list[str]:
    """The column names of a table file, reading as little of it as possible."""
    _check_file(path)
    kind = table_format(path)
    try:
        if kind in ("csv", "tsv"):
            sep = "," if kind == "csv" else "\t"
            return list(pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8").columns)
        if kind == "parquet":
            return list(_parquet().ParquetFile(path).schema_arrow.names)
        first = next(iter(pd.read_json(path, lines=True, chunksize=1)), pd.DataFrame())
        return list(first.columns)
    except (ValueError, UnicodeDecodeError, OSError) as error:
        message = f"cannot read {os.fspath(path)!r} as {kind}: {_first_line(error)}"
        raise CommandError(message) from None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _require(path, columns: list[str], wanted: dict[str, str]) -> None:
    for flag, column in wanted.items():
        if column not in columns:
            listed = ", ".join(repr(c) for c in columns[:20])
            raise CommandError(
                f"{os.fspath(path)!r} has no column {column!r} ({flag}); its columns are {listed}"
            )


def iter_table(
    path: str | os.PathLike,
    wanted: dict[str, str],
    text_columns: tuple[str, ...],
    chunksize: int,
    label_columns: tuple[str, ...] = (),
) -> Iterator[pd.DataFrame]:
    """The ``wanted`` columns (flag -> column) of a table, ``chunksize`` rows at a time.

    Text columns are read as strings, verbatim: an empty CSV field is ``""``, never
    NaN. A missing text (JSON or Parquet null) or an empty label is an error naming
    its row. Other columns are passed through as read.
    """
    columns = table_columns(path)
    _require(path, columns, wanted)
    needed = list(dict.fromkeys(wanted.values()))
    kind = table_format(path)
    if kind in ("csv", "tsv"):
        chunks = pd.read_csv(
            path,
            sep="," if kind == "csv" else "\t",
            usecols=needed,
            dtype=dict.fromkeys(text_columns, str),
            keep_default_na=False,
            na_values={},
            chunksize=chunksize,
            encoding="utf-8",
        )
    elif kind == "jsonl":
        chunks = (
            c[needed] for c in pd.read_json(path, lines=True, chunksize=chunksize, dtype=False)
        )
    else:
        batches = _parquet().ParquetFile(path).iter_batches(batch_size=chunksize, columns=needed)
        chunks = (batch.to_pandas() for batch in batches)
    start = 0
    try:
        for chunk in chunks:
            _check_values(path, chunk, text_columns, label_columns, start)
            start += len(chunk)
            yield chunk.reset_index(drop=True)
    except (ValueError, UnicodeDecodeError) as error:
        message = f"cannot read {os.fspath(path)!r} as {kind}: {_first_line(error)}"
        raise CommandError(message) from None


def _check_values(path, chunk: pd.DataFrame, text_columns, label_columns, start: int) -> None:
    for column in dict.fromkeys([*text_columns, *label_columns]):
        values = chunk[column]
        if column in text_columns:
            bad = ~values.map(lambda v: isinstance(v, str))
            what = "a missing or non-text value"
        else:
            bad = values.isna() | values.map(lambda v: isinstance(v, str) and not v.strip())
            what = "an empty value"
        if bad.any():
            rows = (np.flatnonzero(bad.to_numpy()) + start + 1)[:5].tolist()
            raise CommandError(
                f"column {column!r} of {os.fspath(path)!r} has {what} in data row(s) "
                f"{', '.join(map(str, rows))} (counting from 1 after any header)"
            )


def read_table(
    path: str | os.PathLike,
    wanted: dict[str, str],
    text_columns: tuple[str, ...],
    label_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The ``wanted`` columns of the whole table (see ``iter_table``)."""
    chunks = list(iter_table(path, wanted, text_columns, 100_000, label_columns))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    if frame.empty:
        raise CommandError(f"{os.fspath(path)!r} has no data rows")
    return frame


# --------------------------------------------------------------------- parameters as flags
_NOT_FLAGS = {"verbose", "warm_start"}
_NONE_DEFAULT_TYPES = {
    "random_state": int,
    "pretrained_embeddings": str,
    "class_weight": str,
    "target_tokenizer": str,
    "checkpoint_dir": str,
}


def _optional(kind: type):
    def parse(text: str):
        if text.lower() == "none":
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None

    parse.__name__ = kind.__name__
    return parse


class EstimatorSpec(NamedTuple):
    """An estimator class named by its module, imported only when a command runs, so
    that ``--help`` and argument errors do not wait for PyTorch."""

    module: str
    name: str

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.name)

    def defaults(self) -> dict[str, Any]:
        """The parameters and defaults of the class's ``__init__``, read from its source
        file without importing it (the defaults are literals); imported if that fails."""
        spec = importlib.util.find_spec(self.module)
        try:
            tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
            init = next(
                item
                for node in tree.body
                if isinstance(node, ast.ClassDef) and node.name == self.name
                for item in node.body
                if isinstance(item, ast.FunctionDef) and item.name == "__init__"
            )
            names = [arg.arg for arg in init.args.kwonlyargs]
            return dict(zip(names, map(ast.literal_eval, init.args.kw_defaults), strict=True))
        except (AttributeError, OSError, StopIteration, TypeError, ValueError, SyntaxError):
            return self.load()().get_params()


def add_estimator_flags(parser: argparse.ArgumentParser, estimator: EstimatorSpec) -> None:
    """One ``--flag`` per parameter of the estimator, with its default shown."""
    group = parser.add_argument_group(
        f"{estimator.name} parameters (see its docstring; 'none' for None)"
    )
    for name, default in estimator.defaults().items():
        if name in _NOT_FLAGS:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
            continue
        kind = _NONE_DEFAULT_TYPES.get(name) if default is None else type(default)
        group.add_argument(
            flag,
            type=_optional(kind),
            default=default,
            metavar=kind.__name__.upper(),
            help=f"default: {default}",
        )


def estimator_params(args: argparse.Namespace, estimator_cls: type) -> dict:
    return {
        name: getattr(args, name) for name in estimator_cls().get_params() if name not in _NOT_FLAGS
    }


def add_chunk_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--chunksize",
        type=positive_int,
        default=10_000,
        help="rows read and predicted at a time, so memory stays flat (default: 10000)",
    )


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
