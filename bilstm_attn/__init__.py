"""bilstm_attn: a BiLSTM-with-attention text classifier for scikit-learn that says why,
and a seq2seq translator on the same attention core.

The names below are imported on first use (PEP 562), so that ``import bilstm_attn.cli``
and ``bilstm-attn --help`` do not wait for PyTorch and scikit-learn to load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bilstm_attn._version import __version__

if TYPE_CHECKING:
    from bilstm_attn.classifier import BiLSTMAttentionClassifier
    from bilstm_attn.exceptions import (
        BilstmAttnError,
        ModelFileError,
        NotFittedError,
        TrainingDivergedError,
        TrainingInterruptedWarning,
        VersionMismatchWarning,
    )
    from bilstm_attn.persistence import load
    from bilstm_attn.translator import Seq2SeqTranslator, Translation

_HOMES = {
    "BiLSTMAttentionClassifier": "bilstm_attn.classifier",
    "BilstmAttnError": "bilstm_attn.exceptions",
    "ModelFileError": "bilstm_attn.exceptions",
    "NotFittedError": "bilstm_attn.exceptions",
    "Seq2SeqTranslator": "bilstm_attn.translator",
    "TrainingDivergedError": "bilstm_attn.exceptions",
    "TrainingInterruptedWarning": "bilstm_attn.exceptions",
    "Translation": "bilstm_attn.translator",
    "VersionMismatchWarning": "bilstm_attn.exceptions",
    "load": "bilstm_attn.persistence",
}

__all__ = [
    "BiLSTMAttentionClassifier",
    "BilstmAttnError",
    "ModelFileError",
    "NotFittedError",
    "Seq2SeqTranslator",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "Translation",
    "VersionMismatchWarning",
    "__version__",
    "load",
]


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bilstm_attn' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
