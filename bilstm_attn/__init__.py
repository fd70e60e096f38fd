"""bilstm_attn: a BiLSTM-with-attention text classifier for scikit-learn that says why,
and a seq2seq translator on the same attention core."""

from bilstm_attn.classifier import BiLSTMAttentionClassifier
from bilstm_attn.exceptions import BilstmAttnError, NotFittedError, TrainingInterruptedWarning
from bilstm_attn.translator import Seq2SeqTranslator, Translation

__all__ = [
    "BiLSTMAttentionClassifier",
    "BilstmAttnError",
    "NotFittedError",
    "Seq2SeqTranslator",
    "TrainingInterruptedWarning",
    "Translation",
]

__version__ = "0.1.0"
