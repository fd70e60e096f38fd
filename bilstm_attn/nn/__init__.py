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
from bilstm_attn.nn.encoder import (
    EncoderOutput,
    RNNEncoder,
    lengths_to_mask,
    make_embedding,
    reverse_within_length,
)
from bilstm_attn.nn.models import ClassifierNet, ClassifierOutput

__all__ = [
    "AdditiveScorer",
    "Attention",
    "AttentionOutput",
    "AttentionPooling",
    "ClassifierNet",
    "ClassifierOutput",
    "DotScorer",
    "EncoderOutput",
    "GeneralScorer",
    "RNNEncoder",
    "ScaledDotScorer",
    "Scorer",
    "lengths_to_mask",
    "make_embedding",
    "masked_softmax",
    "reverse_within_length",
]
