"""bilstm_attn: a BiLSTM-with-attention text classifier for scikit-learn that says why."""

from bilstm_attn.classifier import BiLSTMAttentionClassifier
from bilstm_attn.exceptions import BilstmAttnError, NotFittedError, TrainingInterruptedWarning

__all__ = [
    "BiLSTMAttentionClassifier",
    "BilstmAttnError",
    "NotFittedError",
    "TrainingInterruptedWarning",
]

__version__ = "0.1.0"
