"""Pure PyTorch building blocks: the attention core, the encoder and the networks.

Nothing in this package imports scikit-learn, tokenizers, pandas or captum.
"""

from bilstm_attn.nn.attention import (
    AdditiveScorer,
    Attention,
    AttentionOutput,
    AttentionPooling,
    DotScorer,
    GeneralScorer,
    ScaledDotScorer,
    Scorer,
    masked_softmax,
)
from bilstm_attn.nn.decoder import (
    AttentionDecoder,
    BahdanauDecoder,
    DecoderState,
    LuongDecoder,
    StepOutput,
)
from bilstm_attn.nn.encoder import (
    EncoderOutput,
    RNNEncoder,
    bf16_lstm_on_cpu,
    lengths_to_mask,
    locked_dropout,
    make_embedding,
    permute_rows,
    reversal_index,
    reverse_within_length,
    run_rnn,
)
from bilstm_attn.nn.models import ClassifierNet, ClassifierOutput, Seq2SeqNet

__all__ = [
    "AdditiveScorer",
    "Attention",
    "AttentionDecoder",
    "AttentionOutput",
    "AttentionPooling",
    "BahdanauDecoder",
    "ClassifierNet",
    "ClassifierOutput",
    "DecoderState",
    "DotScorer",
    "EncoderOutput",
    "GeneralScorer",
    "LuongDecoder",
    "RNNEncoder",
    "ScaledDotScorer",
    "Scorer",
    "Seq2SeqNet",
    "StepOutput",
    "bf16_lstm_on_cpu",
    "lengths_to_mask",
    "locked_dropout",
    "make_embedding",
    "masked_softmax",
    "permute_rows",
    "reversal_index",
    "reverse_within_length",
    "run_rnn",
]
