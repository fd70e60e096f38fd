"""Networks assembled from the attention core and the encoder."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from bilstm_attn.nn.attention import AttentionPooling, at_least_float32
from bilstm_attn.nn.decoder import AttentionDecoder
from bilstm_attn.nn.encoder import EncoderOutput, RNNEncoder

__all__ = ["ClassifierNet", "ClassifierOutput", "Seq2SeqNet"]


class ClassifierOutput(NamedTuple):
    """What :class:`ClassifierNet` returns.

    Attributes
    ----------
    logits : Tensor of shape (B, C)
        Float32 under a bf16 autocast too.
    weights : Tensor of shape (B, heads, S)
        The pooling attention over the tokens; 0 on padding; float32 under a bf16
        autocast too.
    pooled : Tensor of shape (B, heads * 2H)
        The attention-pooled document vectors (before dropout and the head).
    """

    logits: Tensor
    weights: Tensor
    pooled: Tensor


class ClassifierNet(nn.Module):
    """Encoder, attention pooling, classification head.

    ``h = BiRNN(E[x])``, ``a = softmax(score(u, h))``, ``z = sum_s a_s h_s``,
    ``logits = W z + b`` (Yang et al., 2016, eq. 8-10, with the learned query ``u``;
    several queries as in Lin et al., 2017). With a score linear in the states the
    pooling reads the encoder's two directions where they were written, without joining
    them (:meth:`~bilstm_attn.nn.AttentionPooling.pool_halves`); the result is the same.

    Parameters
    ----------
    encoder : RNNEncoder
    pooling : AttentionPooling
    head : nn.Module
        Maps (B, heads * 2H) to (B, C) logits.
    dropout : float, default=0.0
        Dropout on the pooled vector before the head.
    """

    def __init__(
        self,
        encoder: RNNEncoder,
        pooling: AttentionPooling,
        head: nn.Module,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.head = head

    def forward(self, ids: Tensor, lengths: Tensor) -> ClassifierOutput:
        """Classify a padded batch.

        Parameters
        ----------
        ids : long Tensor of shape (B, S)
        lengths : long Tensor of shape (B,)
            Real tokens per row. Passed explicitly (not derived from ``ids != pad``) so
            that attribution methods may replace the ids by a baseline.

        Returns
        -------
        ClassifierOutput
        """
        return self.classify(self.encoder.embed(ids), lengths)

    def classify(self, embedded: Tensor, lengths: Tensor) -> ClassifierOutput:
        """Classify an embedded batch (B, S, E): :meth:`forward` after the embedding
        lookup, for attribution methods that work on the embeddings."""
        directions = self.encoder.read(embedded, lengths)
        out = self.pooling.pool_halves(
            directions.forward, directions.backward, directions.flip, directions.mask
        )  # each direction read where the encoder wrote it, if the score allows
        if out is None:  # a score not linear in the states (additive)
            out = self.pooling(directions.join(), directions.mask)
        pooled, weights = out  # (B, heads * 2H), (B, heads, S)
        logits = at_least_float32(self.head(self.dropout(pooled)))  # (B, C), float32 under autocast
        return ClassifierOutput(logits, weights, pooled)


class Seq2SeqNet(nn.Module):
    """Encoder and attentive decoder (Bahdanau et al. 2015; Luong et al. 2015).

    Parameters
    ----------
    encoder : RNNEncoder
    decoder : AttentionDecoder
    """

    def __init__(self, encoder: RNNEncoder, decoder: AttentionDecoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, source_ids: Tensor, source_lengths: Tensor) -> EncoderOutput:
        """Encode the sources (B, S) once, for teacher forcing or search."""
        return self.encoder(source_ids, source_lengths)

    def forward(
        self, source_ids: Tensor, source_lengths: Tensor, target_in: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Teacher-forced logits (B, T, V) and attention (B, T, S)."""
        return self.decoder(target_in, self.encode(source_ids, source_lengths))
