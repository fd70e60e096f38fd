"""Embeddings and the bidirectional recurrent encoder.

The encoder is exact on padded batches without ``pack_padded_sequence``: the forward
direction reads each sequence left to right, so its padding only ever comes after the
real tokens; the backward direction reads each sequence reversed *within its own
length* (``[t3 t2 t1 pad pad]``), so its padding also trails. Each real position's
output is therefore independent of how much padding its batch carries, and equal to what
a packed bidirectional RNN gives, while the computation stays on the fast padded path
(packing with mixed lengths costs 2-10x in training time on CPU).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "Directions",
    "EncoderOutput",
    "RNNEncoder",
    "bf16_lstm_on_cpu",
    "lengths_to_mask",
    "locked_dropout",
    "make_embedding",
    "permute_rows",
    "reversal_index",
    "reverse_within_length",
    "run_rnn",
]


class EncoderOutput(NamedTuple):
    """What :class:`RNNEncoder` returns.

    Attributes
    ----------
    states : Tensor of shape (B, S, 2H)
        Concatenated forward and backward states of the top layer; 0 on padding. A
        view of time-major memory (S, B, 2H), where the recurrent kernels write them
        (``states.contiguous()`` gives batch-major memory).
    mask : bool Tensor of shape (B, S)
        True on real tokens.
    final : Tensor of shape (L, B, 2H)
        Per layer, the forward state after the last real token and the backward state
        after the first one (zeros for an empty sequence).
    """

    states: Tensor
    mask: Tensor
    final: Tensor


class Directions(NamedTuple):
    """What :meth:`RNNEncoder.directions` returns: the top layer's states, one tensor
    per direction, each in the order its RNN wrote it.

    Attributes
    ----------
    forward : Tensor of shape (S, B, H)
        The forward direction's states, time-major. On padding, finite values that
        belong to no token.
    backward : Tensor of shape (S, B, H)
        The backward direction's states, time-major, each sequence reversed within its
        length: ``backward[s, b]`` is the state at position ``lengths[b] - 1 - s`` for
        ``s < lengths[b]``; the rows of padding are finite values that belong to no
        token. ``flip`` puts them in order.
    flip : long Tensor of shape (S * B,)
        :func:`reversal_index` of the lengths, time-major: row ``i`` of the flattened
        ``backward`` in the tokens' order is row ``flip[i]``; its own inverse.
    mask : bool Tensor of shape (B, S)
        True on real tokens.
    final : Tensor of shape (L, B, 2H)
        As in :class:`EncoderOutput`.
    """

    forward: Tensor
    backward: Tensor
    flip: Tensor
    mask: Tensor
    final: Tensor

    def join(self) -> Tensor:
        """The states (B, S, 2H) of :class:`EncoderOutput`: both directions in the
        tokens' order, concatenated, 0 on padding; a view of time-major memory."""
        width, batch, size = self.backward.shape
        backward = permute_rows(self.backward.reshape(width * batch, size), self.flip)
        joined = torch.cat([self.forward, backward.view(width, batch, size)], dim=-1)
        if joined.requires_grad:
            # In place and not through a view: zeroing by index through a view made
            # autograd copy the whole batch back (CopySlices), 5% of a training epoch.
            joined.mul_(self.mask.t()[:, :, None])  # 0 on padding (the states are finite)
        else:  # writes the padding rows only, 2x faster than the multiplication
            padding = (~self.mask).t().reshape(-1).nonzero().squeeze(1)  # flat (S * B)
            joined.view(width * batch, -1).index_fill_(0, padding, 0.0)  # 0 on padding
        return joined.transpose(0, 1)  # (B, S, 2H), time-major in memory


@functools.cache
def bf16_lstm_on_cpu() -> bool:
    """Whether oneDNN builds a bf16 LSTM on this CPU (it needs AVX-512; on AVX2 the
    primitive cannot be created). Draws nothing from torch's random generator: the probe
    runs in the middle of a seeded fit."""
    with torch.random.fork_rng(devices=[]):
        probe = nn.LSTM(2, 2)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            probe(torch.zeros(1, 1, 2))
    except RuntimeError:
        return False
    return True


def run_rnn(rnn: nn.RNNBase, x: Tensor, hx=None):
    """``rnn(x, hx)``, also under a CPU bf16 autocast where the CPU has no bf16 kernel for it.

    Autocast sends an LSTM to oneDNN's bf16 kernel, which a CPU without AVX-512 lacks;
    there the layer runs in float32 (as autocast does for any operation without a
    lower-precision kernel) and its outputs are float32.
    """
    if (
        x.device.type == "cpu"
        and isinstance(rnn, nn.LSTM)
        and torch.is_autocast_enabled("cpu")
        and torch.get_autocast_dtype("cpu") == torch.bfloat16
        and not bf16_lstm_on_cpu()
    ):
        with torch.autocast("cpu", enabled=False):
            if hx is not None:
                hx = tuple(h.float() for h in hx)
            return rnn(x.float(), hx)
    return rnn(x, hx)


def lengths_to_mask(lengths: Tensor, max_length: int) -> Tensor:
    """Bool mask (B, S) with True on the first ``lengths[b]`` positions of row b."""
    positions = torch.arange(max_length, device=lengths.device)  # (S,)
    return positions[None, :] < lengths[:, None]  # (B, S)


def reversal_index(lengths: Tensor, max_length: int, *, time_major: bool = False) -> Tensor:
    """Flat row index that reverses each sequence within its length.

    Row ``b`` of a batch, position ``s``, is read from position ``lengths[b] - 1 - s``
    for ``s < lengths[b]`` and from itself on padding.

    Parameters
    ----------
    lengths : long Tensor of shape (B,)
    max_length : int
        S.
    time_major : bool, default=False
        Index the rows of a ``(S, B, D)`` tensor flattened to ``(S * B, D)`` instead of
        a ``(B, S, D)`` one flattened to ``(B * S, D)``.

    Returns
    -------
    long Tensor of shape (B * S,)
        A permutation that is its own inverse.
    """
    batch = lengths.size(0)
    positions = torch.arange(max_length, device=lengths.device)[None, :]  # (1, S)
    ends = lengths[:, None]  # (B, 1)
    source = torch.where(positions < ends, ends - 1 - positions, positions)  # (B, S)
    rows = torch.arange(batch, device=lengths.device)[:, None]  # (B, 1)
    if time_major:
        return (source * batch + rows).t().reshape(-1)  # (S * B,)
    return (rows * max_length + source).reshape(-1)  # (B * S,)


class _Permutation(torch.autograd.Function):
    """Rows of ``x`` (N, D) in the order ``index``, a permutation whose inverse is known.

    ``index_select`` alone would scatter-add its gradient back; a permutation's gradient
    is the incoming gradient permuted by the inverse, which is a plain copy again.
    """

    @staticmethod
    def forward(ctx, x: Tensor, index: Tensor, inverse: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(index, inverse)
        return x.index_select(0, index)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        index, inverse = ctx.saved_tensors
        return _Permutation.apply(grad.contiguous(), inverse, index), None, None


def permute_rows(x: Tensor, index: Tensor, inverse: Tensor | None = None) -> Tensor:
    """``x`` (N, D) with its rows reordered: row ``i`` of the result is ``x[index[i]]``.

    ``index`` must be a permutation of ``range(N)``; ``inverse`` is its inverse
    (``index`` itself when None, as for :func:`reversal_index`).
    """
    return _Permutation.apply(x, index, index if inverse is None else inverse)


def reverse_within_length(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence's first ``lengths[b]`` steps, leaving its padding in place.

    Parameters
    ----------
    x : Tensor of shape (B, S, D)
    lengths : long Tensor of shape (B,)

    Returns
    -------
    Tensor of shape (B, S, D)
        The operation is its own inverse.
    """
    batch, width, size = x.shape
    flat = x.reshape(batch * width, size)  # (B * S, D)
    return permute_rows(flat, reversal_index(lengths, width)).view(batch, width, size)


def locked_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout with one mask per sequence, shared by every time step (Gal & Ghahramani, 2016).

    Parameters
    ----------
    x : Tensor of shape (B, S, D)
    p : float
        Probability of zeroing a feature of a sequence.
    training : bool
        Off (identity) unless True.
    """
    if not training or p == 0:
        return x
    keep = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)  # (B, 1, D)
    return x * keep


def make_embedding(
    num_embeddings: int,
    embedding_dim: int,
    padding_idx: int,
    pretrained: Tensor | None = None,
    freeze: bool = False,
) -> nn.Embedding:
    """An embedding table whose padding row is zero, optionally initialised from vectors.

    Parameters
    ----------
    num_embeddings : int
        Vocabulary size (including the padding id).
    embedding_dim : int
        Size of each vector.
    padding_idx : int
        Id of the padding token; its row is zero and gets no gradient.
    pretrained : Tensor of shape (num_embeddings, embedding_dim), default=None
        Initial vectors (for example from word2vec or GloVe).
    freeze : bool, default=False
        Keep the pretrained vectors fixed during training.
    """
    embedding = nn.Embedding(num_embeddings, embedding_dim, padding_idx=padding_idx)
    if pretrained is not None:
        if tuple(pretrained.shape) != (num_embeddings, embedding_dim):
            raise ValueError(
                f"pretrained vectors have shape {tuple(pretrained.shape)}; expected "
                f"({num_embeddings}, {embedding_dim})."
            )
        with torch.no_grad():
            embedding.weight.copy_(pretrained)
            embedding.weight[padding_idx].zero_()
        embedding.weight.requires_grad_(not freeze)
    return embedding


class RNNEncoder(nn.Module):
    """Embedding followed by a bidirectional multi-layer LSTM or GRU, exact on padding.

    Each layer runs two one-way RNNs: one over the sequence, one over the sequence
    reversed within its length (Schuster & Paliwal, 1997; ``h_t = [h_fwd_t; h_bwd_t]``).
    The embedded batch is laid out time-major in memory, the layout the recurrent
    kernels read, so the forward RNN takes it without a copy, and the states stay
    time-major in memory, where the RNNs write them: no copy joins the directions
    batch-major. :meth:`directions`
    stops before the top layer's join, for a consumer that reads each direction in its
    own order (the classifier's pooling, :meth:`AttentionPooling.pool_halves`).

    Parameters
    ----------
    embedding : nn.Embedding
        The token embedding (see :func:`make_embedding`).
    hidden_size : int
        H, the state size of each direction.
    num_layers : int, default=1
        Stacked bidirectional layers.
    rnn_cls : type, default=nn.LSTM
        ``nn.LSTM`` or ``nn.GRU``.
    dropout : float, default=0.0
        Dropout on the embeddings and between layers.
    variational : bool, default=False
        Draw one dropout mask per sequence, the same at every step
        (:func:`locked_dropout`), instead of one per element: B x E random numbers
        instead of B x S x E. The classifier uses it; the character-level translator
        keeps per-element dropout (``benchmarks/NOTES.md``, speed work).

    The encoding is :meth:`embed` followed by :meth:`read`; an attribution method that
    works on the embeddings (integrated gradients) calls the two itself, so that
    nothing is hooked into the shared module.
    """

    def __init__(
        self,
        embedding: nn.Embedding,
        hidden_size: int,
        num_layers: int = 1,
        rnn_cls: Callable[..., nn.RNNBase] = nn.LSTM,
        dropout: float = 0.0,
        variational: bool = False,
    ) -> None:
        super().__init__()
        self.embedding = embedding
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.variational = variational
        input_sizes = [embedding.embedding_dim] + [2 * hidden_size] * (num_layers - 1)
        self.forward_rnns = nn.ModuleList(rnn_cls(size, hidden_size) for size in input_sizes)
        self.backward_rnns = nn.ModuleList(rnn_cls(size, hidden_size) for size in input_sizes)

    def _drop(self, x: Tensor) -> Tensor:
        if self.variational:
            return locked_dropout(x, self.dropout, self.training)
        # Masks drawn over batch-major memory, as before version 0.2: a seed still
        # gives the same masks, hence the same fitted translator.
        return F.dropout(x.contiguous(), self.dropout, self.training)

    @property
    def output_size(self) -> int:
        """Size of each state vector, 2H."""
        return 2 * self.hidden_size

    def forward(self, ids: Tensor, lengths: Tensor) -> EncoderOutput:
        """Encode a padded batch.

        Parameters
        ----------
        ids : long Tensor of shape (B, S)
            Token ids; positions at or past ``lengths[b]`` are padding.
        lengths : long Tensor of shape (B,)
            Number of real tokens per row, 0 <= lengths[b] <= S.

        Returns
        -------
        EncoderOutput
        """
        directions = self.directions(ids, lengths)
        return EncoderOutput(directions.join(), directions.mask, directions.final)

    def directions(self, ids: Tensor, lengths: Tensor) -> Directions:
        """Encode a padded batch, the top layer's two directions left apart.

        What :meth:`forward` gives before its last step, the join of the directions
        (:meth:`Directions.join`): for a consumer that can read each direction in its
        own order, such as attention pooling with a score linear in the states.

        Parameters
        ----------
        ids : long Tensor of shape (B, S)
        lengths : long Tensor of shape (B,)

        Returns
        -------
        Directions
        """
        return self.read(self.embed(ids), lengths)

    def embed(self, ids: Tensor) -> Tensor:
        """The embeddings (B, S, E) of the ids (B, S), laid out time-major in memory."""
        return self.embedding(ids.t()).transpose(0, 1)  # (B, S, E), time-major

    def read(self, x: Tensor, lengths: Tensor) -> Directions:
        """:meth:`directions` of an embedded batch ``x`` (B, S, E), in any memory layout."""
        batch, width = x.shape[:2]
        mask = lengths_to_mask(lengths, width)  # (B, S)
        flip = reversal_index(lengths, width, time_major=True)  # (S * B,)
        last = (lengths - 1).clamp(min=0)  # (B,)
        rows = torch.arange(batch, device=x.device)
        has_tokens = (lengths > 0)[:, None].float()  # (B, 1)
        finals = []
        for depth, (fwd, bwd) in enumerate(zip(self.forward_rnns, self.backward_rnns)):
            x = self._drop(x).transpose(0, 1)  # (S, B, D)
            flat = x.reshape(width * batch, -1)  # (S * B, D), a view unless x came batch-major
            out_fwd, _ = run_rnn(fwd, flat.view(width, batch, -1))  # (S, B, H)
            out_bwd, _ = run_rnn(bwd, permute_rows(flat, flip).view(width, batch, -1))  # reversed
            # The backward state after each sequence's first token is its last step.
            final = torch.cat([out_fwd[last, rows], out_bwd[last, rows]], dim=-1)  # (B, 2H)
            finals.append(final * has_tokens.to(final.dtype))
            if depth + 1 < len(self.forward_rnns):  # the next layer's input, time-major
                out_bwd = permute_rows(out_bwd.reshape(width * batch, -1), flip)  # in order
                x = torch.cat([out_fwd, out_bwd.view(width, batch, -1)], dim=-1)  # (S, B, 2H)
                x = x.transpose(0, 1)  # (B, S, 2H)
        return Directions(out_fwd, out_bwd, flip, mask, torch.stack(finals))
