"""The library's exceptions and warnings.

``NotFittedError`` is scikit-learn's own class, so ``except NotFittedError`` works with
either import.
"""

from sklearn.exceptions import NotFittedError

__all__ = ["BilstmAttnError", "NotFittedError", "TrainingInterruptedWarning"]


class BilstmAttnError(Exception):
    """Base class of the errors raised by bilstm_attn itself (not by bad arguments)."""


class TrainingInterruptedWarning(UserWarning):
    """Training was stopped by Ctrl-C; the model keeps the best weights so far."""
