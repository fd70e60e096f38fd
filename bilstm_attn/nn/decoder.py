"""Attentive LSTM decoders: one step at a time, attention injected from the core.

Two styles share the state, the bridge from the encoder and the output layer, and differ
in one method, :meth:`AttentionDecoder.step`:

- :class:`BahdanauDecoder` (Bahdanau et al. 2015, eq. 4-6): the *previous* decoder state
  queries the encoder; the context goes into the LSTM input with the previous token.
- :class:`LuongDecoder` (Luong et al. 2015, eq. 5 and sec. 3.3): the *current* state
  queries; the attentional hidden state ``h~_t = tanh(W_c [c_t; h_t])`` makes the
  prediction and is fed into the next step's input ("input feeding").

Shapes: B batch, S source length, D encoder state size (2H_enc), H decoder size, E
embedding size, V vocabulary, L decoder layers.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bilstm_attn.nn.attention import Attention, at_least_float32
from bilstm_attn.nn.encoder import EncoderOutput

__all__ = ["AttentionDecoder", "BahdanauDecoder", "DecoderState", "LuongDecoder", "StepOutput"]


class DecoderState(NamedTuple):
    """The recurrent state carried from one step to the next.

    Attributes
    ----------
    hidden : Tensor of shape (L, B, H)
    cell : Tensor of shape (L, B, H)
    feed : Tensor of shape (B, H)
        Luong: the previous attentional hidden state (input feeding). Bahdanau: unused
        (zeros).
    """

    hidden: Tensor
    cell: Tensor
    feed: Tensor

    def select(self, index: Tensor) -> DecoderState:
        """Keep (and reorder, repeat) the batch rows in ``index``, e.g. for beam search."""
        return DecoderState(self.hidden[:, index], self.cell[:, index], self.feed[index])


class StepOutput(NamedTuple):
    """What one decoder step returns.

    Attributes
    ----------
    logits : Tensor of shape (B, V)
    state : DecoderState
    attention : Tensor of shape (B, S)
        This step's attention over the source; 0 on padding, sums to 1.
    """

    logits: Tensor
    state: DecoderState
    attention: Tensor


class AttentionDecoder(nn.Module):
    """Base of the attentive decoders: bridge, output layer, teacher-forced unrolling.

    Parameters
    ----------
    embedding : nn.Embedding
        Target token embedding (E).
    attention : Attention
        The attention core, with a scorer for query size H and key size D.
    encoder_size : int
        D, the size of the encoder states.
    hidden_size : int
        H.
    vocab_size : int
        V.
    num_layers : int, default=1
    dropout : float, default=0.0
    """

    def __init__(
        self,
        embedding: nn.Embedding,
        attention: Attention,
        encoder_size: int,
        hidden_size: int,
        vocab_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embedding = embedding
        self.attention = attention
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = nn.Dropout(dropout)
        self.bridge = nn.Linear(encoder_size, hidden_size)
        self.rnn = nn.LSTM(
            self._rnn_input_size(embedding.embedding_dim, encoder_size, hidden_size),
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.output = nn.Linear(hidden_size, vocab_size)

    def _rnn_input_size(self, embedding_size: int, encoder_size: int, hidden_size: int) -> int:
        raise NotImplementedError

    def init_state(self, encoded: EncoderOutput) -> DecoderState:
        """The first state, bridged from the encoder: ``h_0 = tanh(W_b s_final)``."""
        top = encoded.final[-1]  # (B, D)
        hidden = torch.tanh(self.bridge(top))  # (B, H)
        hidden = hidden.unsqueeze(0).expand(self.num_layers, -1, -1).contiguous()  # (L, B, H)
        feed = hidden.new_zeros(hidden.shape[1:])  # (B, H)
        return DecoderState(hidden, torch.zeros_like(hidden), feed)

    def project_keys(self, states: Tensor) -> Tensor:
        """The key projection of the attention, once per source batch."""
        return self.attention.project_keys(states)

    def lstm_step(self, x: Tensor, state: DecoderState) -> tuple[Tensor, Tensor, Tensor]:
        """One step of the stacked LSTM on its own weights (``torch.lstm_cell`` per
        layer, the dropout of ``nn.LSTM`` between layers): the top output (B, H) and the
        new hidden and cell states (L, B, H). The same numbers as ``self.rnn`` over one
        step, without its per-call cost. Float32 whatever the autocast (the cell has no
        bf16 kernel on CPU)."""
        hidden, cell = [], []
        x = at_least_float32(x)
        for layer in range(self.num_layers):
            h, c = torch.lstm_cell(
                x,
                (at_least_float32(state.hidden[layer]), at_least_float32(state.cell[layer])),
                getattr(self.rnn, f"weight_ih_l{layer}"),
                getattr(self.rnn, f"weight_hh_l{layer}"),
                getattr(self.rnn, f"bias_ih_l{layer}"),
                getattr(self.rnn, f"bias_hh_l{layer}"),
            )  # (B, H) each
            hidden.append(h)
            cell.append(c)
            x = h
            if layer + 1 < self.num_layers:
                x = F.dropout(h, self.rnn.dropout, self.training)
        return x, torch.stack(hidden), torch.stack(cell)

    def forward(self, target_in: Tensor, encoded: EncoderOutput) -> tuple[Tensor, Tensor]:
        """Teacher-forced unrolling over a whole target: :meth:`step` at every position,
        with the embedding lookup and the output layers each run once over all steps.

        Parameters
        ----------
        target_in : long Tensor of shape (B, T)
            ``[BOS] y_1 ... y_{T-1}``, the gold previous tokens.
        encoded : EncoderOutput

        Returns
        -------
        logits : Tensor of shape (B, T, V)
        attention : Tensor of shape (B, T, S)
        """
        state = self.init_state(encoded)
        projected = self.project_keys(encoded.states)  # once for all steps
        embedded = self.dropout(self.embedding(target_in))  # (B, T, E), once for all steps
        features, attention = [], []
        for t in range(target_in.size(1)):
            feature, state, weights = self._recur(embedded[:, t], state, encoded, projected)
            features.append(feature)
            attention.append(weights)
        stacked = torch.stack(features, dim=1)  # (B, T, F)
        return self._logits(stacked, embedded), torch.stack(attention, dim=1)  # (B, T, V/S)

    def step(
        self,
        previous: Tensor,
        state: DecoderState,
        encoded: EncoderOutput,
        projected_keys: Tensor,
    ) -> StepOutput:
        """One step: the previous tokens (B,) in, next-token logits (B, V) out."""
        embedded = self.dropout(self.embedding(previous))  # (B, E)
        feature, state, weights = self._recur(embedded, state, encoded, projected_keys)
        return StepOutput(self._logits(feature, embedded), state, weights)

    def _recur(
        self, embedded: Tensor, state: DecoderState, encoded: EncoderOutput, projected_keys
    ) -> tuple[Tensor, DecoderState, Tensor]:
        """The recurrent part of a step from the embedded previous tokens (B, E): what the
        output layers read (B, F), the next state, the attention (B, S)."""
        raise NotImplementedError

    def _logits(self, feature: Tensor, embedded: Tensor) -> Tensor:
        """The output layers over ``_recur``'s features (..., F) and the embedded previous
        tokens (..., E): the next-token logits (..., V), float32."""
        raise NotImplementedError

    def _attend(self, query: Tensor, encoded: EncoderOutput, projected_keys: Tensor):
        out = self.attention(
            query.unsqueeze(1), encoded.states, mask=encoded.mask, projected_keys=projected_keys
        )  # context (B, 1, D), weights (B, 1, S)
        return out.context.squeeze(1), out.weights.squeeze(1)  # (B, D), (B, S)


class BahdanauDecoder(AttentionDecoder):
    """Bahdanau et al. (2015): ``c_t = attn(s_{t-1}, h)``,
    ``s_t = LSTM([E y_{t-1}; c_t], s_{t-1})``.

    The output layer reads ``tanh(W_o [s_t; c_t; E y_{t-1}])`` (the deep output of eq. A.5
    without the maxout).
    """

    def __init__(
        self, embedding, attention, encoder_size, hidden_size, vocab_size, num_layers=1, dropout=0.0
    ) -> None:
        super().__init__(
            embedding, attention, encoder_size, hidden_size, vocab_size, num_layers, dropout
        )
        self.pre_output = nn.Linear(
            hidden_size + encoder_size + embedding.embedding_dim, hidden_size
        )

    def _rnn_input_size(self, embedding_size: int, encoder_size: int, hidden_size: int) -> int:
        return embedding_size + encoder_size

    def _recur(self, embedded, state, encoded, projected_keys):
        context, weights = self._attend(state.hidden[-1], encoded, projected_keys)  # (B, D)
        rnn_in = torch.cat([embedded, at_least_float32(context)], dim=-1)  # (B, E + D)
        out, hidden, cell = self.lstm_step(rnn_in, state)  # (B, H), (L, B, H) twice
        feature = torch.cat([out, at_least_float32(context)], dim=-1)  # (B, H + D)
        return feature, DecoderState(hidden, cell, state.feed), weights

    def _logits(self, feature, embedded):
        pre = torch.tanh(self.pre_output(torch.cat([feature, embedded], dim=-1)))  # (.., H)
        return at_least_float32(self.output(self.dropout(pre)))  # (..., V)


class LuongDecoder(AttentionDecoder):
    """Luong et al. (2015): ``h_t = LSTM([E y_{t-1}; h~_{t-1}], h_{t-1})``,
    ``c_t = attn(h_t, h)``, ``h~_t = tanh(W_c [c_t; h_t])``, ``p = softmax(W_s h~_t)``."""

    def __init__(
        self, embedding, attention, encoder_size, hidden_size, vocab_size, num_layers=1, dropout=0.0
    ) -> None:
        super().__init__(
            embedding, attention, encoder_size, hidden_size, vocab_size, num_layers, dropout
        )
        self.combine = nn.Linear(encoder_size + hidden_size, hidden_size, bias=False)  # W_c

    def _rnn_input_size(self, embedding_size: int, encoder_size: int, hidden_size: int) -> int:
        return embedding_size + hidden_size

    def _recur(self, embedded, state, encoded, projected_keys):
        rnn_in = torch.cat([embedded, at_least_float32(state.feed)], dim=-1)  # (B, E + H)
        query, hidden, cell = self.lstm_step(rnn_in, state)  # (B, H), (L, B, H) twice
        context, weights = self._attend(query, encoded, projected_keys)  # (B, D), (B, S)
        attentional = torch.tanh(self.combine(torch.cat([context, query], dim=-1)))  # (B, H)
        return attentional, DecoderState(hidden, cell, attentional), weights

    def _logits(self, feature, embedded):
        return at_least_float32(self.output(self.dropout(feature)))  # (..., V)
