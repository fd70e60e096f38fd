"""bilstm_attn: a BiLSTM-with-attention text classifier for scikit-learn that says why,
and a seq2seq translator on the same attention core."""

from bilstm_attn._version import __version__
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
