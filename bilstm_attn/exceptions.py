"""The library's exceptions and warnings.

``NotFittedError`` is scikit-learn's own class, so ``except NotFittedError`` works with
either import.
"""

from sklearn.exceptions import NotFittedError

__all__ = [
    "BilstmAttnError",
    "ChecksumError",
    "DatasetNotFoundError",
    "ModelFileError",
    "NotFittedError",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "VersionMismatchWarning",
]


class BilstmAttnError(Exception):
    """Base class of the errors raised by bilstm_attn itself (not by bad arguments)."""


class DatasetNotFoundError(BilstmAttnError, FileNotFoundError):
    """A corpus is not in the data directory and could not be downloaded."""


class ChecksumError(BilstmAttnError):
    """A downloaded file does not have the published checksum (it was deleted)."""


class ModelFileError(BilstmAttnError):
    """A saved model directory has a missing, corrupt or unreadable file."""


class TrainingInterruptedWarning(UserWarning):
    """Training was stopped by Ctrl-C; the model keeps the best weights so far."""


class VersionMismatchWarning(UserWarning):
    """A model was saved by another version of bilstm_attn or torch than the one loading it."""


class TrainingDivergedError(BilstmAttnError, FloatingPointError):
    """A training loss, or the weights, stopped being finite; the fit was undone."""
