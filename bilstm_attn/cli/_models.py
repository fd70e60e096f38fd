"""Building, fitting, loading and writing for the commands, with one-line errors."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sklearn.utils._param_validation import InvalidParameterError

from bilstm_attn._files import atomic_path
from bilstm_attn.cli._io import CommandError
from bilstm_attn.exceptions import ModelFileError
from bilstm_attn.persistence import load

__all__ = ["build_estimator", "fit_estimator", "load_model", "write_atomically"]


def build_estimator(cls: type, params: dict, quiet: bool):
    """The estimator from the flags, its parameters checked before any data is read."""
    estimator = cls(**params, verbose=0 if quiet else 1)
    try:
        estimator._validate_params()
    except InvalidParameterError as error:
        raise CommandError(str(error)) from None
    return estimator


def fit_estimator(estimator, X, y) -> float:
    """Fit, turning a complaint about the data into a CommandError; return the seconds."""
    started = time.perf_counter()
    try:
        estimator.fit(X, y)
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise CommandError(str(error).strip().splitlines()[0]) from None
    return time.perf_counter() - started


def load_model(path: str, cls: type, other_command: str):
    """A saved model of class ``cls``, or a CommandError that says what to do."""
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
