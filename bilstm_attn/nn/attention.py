"""The attention core: the only attention code in bilstm_attn.

Score functions, the masked softmax and the weighted sum live here and nowhere else.
The classifier's pooling (:class:`AttentionPooling`) and the translator's decoder both
call :class:`Attention`, so a score function added once serves both.

Notation (shapes in comments): B batch, Q queries, S keys (source length),
Dq / Dk / Dv query, key and value sizes, A the additive scorer's hidden size.
Masks are bool with True = real token.

References
----------
Bahdanau, Cho & Bengio (2015). Neural machine translation by jointly learning to align
    and translate. ICLR. (additive score, eq. 6)
Luong, Pham & Manning (2015). Effective approaches to attention-based neural machine
    translation. EMNLP. (dot and general scores, eq. 8)
Vaswani et al. (2017). Attention is all you need. NeurIPS. (scaled dot product, eq. 1)
Lin et al. (2017). A structured self-attentive sentence embedding. ICLR. (several
    learned queries pooled and concatenated)
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

__all__ = [
    "AdditiveScorer",
    "Attention",
    "AttentionOutput",
    "AttentionPooling",
    "DotScorer",
    "GeneralScorer",
    "ScaledDotScorer",
    "Scorer",
    "at_least_float32",
    "masked_softmax",
    "tanh_linear",
]


class AttentionOutput(NamedTuple):
    """What attention returns.

    Attributes
    ----------
    context : Tensor of shape (B, Q, Dv)
        Weighted sum of the values, one row per query.
    weights : Tensor of shape (B, Q, S)
        Attention distribution over the keys: exactly 0 on masked keys, summing to 1
        over the real ones; a query with no real key gets a row of zeros.
    """

    context: Tensor
    weights: Tensor


def at_least_float32(x: Tensor) -> Tensor:
    """``x`` in float32 if it is in a narrower float type (bf16 or fp16 under autocast);
    otherwise ``x`` itself."""
    if x.dtype in (torch.bfloat16, torch.float16):
        return x.float()
    return x


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last axis that gives exactly 0 to masked positions, in float32
    (or wider) whatever the precision of the scores.

    Parameters
    ----------
    scores : Tensor of shape (B, Q, S)
    mask : bool Tensor of shape (B, S) or None
        True marks a real key. A row whose keys are all masked gets zeros, never NaN.

    Returns
    -------
    weights : Tensor of shape (B, Q, S)
    """
    scores = at_least_float32(scores)
    if mask is None:
        return torch.softmax(scores, dim=-1)
    keep = mask[:, None, :]  # (B, 1, S)
    # A finite fill keeps fully masked rows finite; the final masked_fill makes the
    # masked weights exactly 0 (and a fully masked row all zeros).
    filled = scores.masked_fill(~keep, torch.finfo(scores.dtype).min)
    weights = torch.softmax(filled, dim=-1)
    return weights.masked_fill(~keep, 0.0)


@functools.cache
def _fused_tanh_linear_works() -> bool:
    """Whether oneDNN's fused linear + tanh (an inference kernel of PyTorch's CPU
    builds, ``torch.ops.mkldnn._linear_pointwise``) is there and right on this build."""
    try:
        # Fixed values: drawing random ones would move the caller's seeded generator.
        x = torch.linspace(-2.0, 2.0, 24).reshape(3, 2, 4)
        weight, bias = torch.linspace(-1.0, 1.0, 20).reshape(5, 4), torch.linspace(-0.5, 0.5, 5)
        with torch.inference_mode():
            fused = torch.ops.mkldnn._linear_pointwise(x, weight, bias, "tanh", [], "")
            return bool(torch.allclose(fused, torch.tanh(x @ weight.t() + bias), atol=1e-5))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def tanh_linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``tanh(x W^T + b)`` in one pass where it can be.

    Without autograd on a CPU float32 tensor this is oneDNN's fused kernel (one pass over
    the output); otherwise one ``addmm`` with the bias folded in, then tanh in place.

    Parameters
    ----------
    x : Tensor of shape (*, Din)
    weight : Tensor of shape (Dout, Din)
    bias : Tensor of shape (Dout,)

    Returns
    -------
    Tensor of shape (*, Dout)
    """
    if (
        not torch.is_grad_enabled()
        and x.device.type == "cpu"
        and x.dtype == weight.dtype == bias.dtype == torch.float32
        and _fused_tanh_linear_works()
    ):
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "tanh", [], "")
    flat = x.reshape(-1, x.size(-1))  # (N, Din)
    return torch.addmm(bias, flat, weight.t()).tanh_().view(*x.shape[:-1], -1)  # (*, Dout)


def _by_rows(fn, x: Tensor) -> Tensor:
    """``fn``, which acts on the last axis alone, applied to ``x`` (B, S, D).

    A linear layer on a (B, S, D) view of time-major memory (the encoder's states)
    would first copy it batch-major; applied to the (S, B, D) tensor under the view it
    reads the memory in place and gives the same rows.
    """
    if x.dim() == 3 and not x.is_contiguous() and x.transpose(0, 1).is_contiguous():
        return fn(x.transpose(0, 1)).transpose(0, 1)  # time-major memory: no copy
    return fn(x)


class Scorer(nn.Module):
    """Base class of the score functions ``score(q, k)``.

    A scorer splits its work in two so that the key-side projection can be computed once
    per batch and reused for every query (every decoder step): :meth:`project_keys` and
    :meth:`forward`. It keeps no per-batch state.
    """

    def project_keys(self, keys: Tensor) -> Tensor:
        """Key-side part of the score, computed once per batch.

        Parameters
        ----------
        keys : Tensor of shape (B, S, Dk)

        Returns
        -------
        projected_keys : Tensor of shape (B, S, *)
        """
        return keys

    def score_shared(self, query: Tensor, keys: Tensor) -> Tensor:
        """Scores of queries shared by every row of the batch (learned pooling queries).

        The same as ``forward`` on the query repeated for each row and the projected
        keys; a scorer may compute it faster.

        Parameters
        ----------
        query : Tensor of shape (Q, Dq)
        keys : Tensor of shape (B, S, Dk)

        Returns
        -------
        scores : Tensor of shape (B, Q, S)
        """
        return self(query.expand(keys.size(0), -1, -1), self.project_keys(keys))

    def linear_weights(self, query: Tensor) -> Tensor | None:
        """For a score linear in the key, the vectors ``w`` with ``score(q, k) = w^T k``.

        Lets a caller score keys that come in parts (:meth:`AttentionPooling.pool_halves`):
        the score of ``[k1; k2]`` is the sum of the parts' scores.

        Parameters
        ----------
        query : Tensor of shape (Q, Dq)

        Returns
        -------
        Tensor of shape (Q, Dk), or None when the score is not linear in the key
        """
        return None

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        """Scores of every query against every key.

        Parameters
        ----------
        query : Tensor of shape (B, Q, Dq)
        projected_keys : Tensor of shape (B, S, *)
            The output of :meth:`project_keys`.

        Returns
        -------
        scores : Tensor of shape (B, Q, S)
        """
        raise NotImplementedError


class DotScorer(Scorer):
    """Luong et al. (2015), eq. 8, *dot*: ``score(q, k) = q^T k`` (needs Dq == Dk)."""

    def linear_weights(self, query: Tensor) -> Tensor:
        return query  # (Q, Dk)

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        return torch.bmm(query, projected_keys.transpose(1, 2))  # (B, Q, S)


class ScaledDotScorer(Scorer):
    """Vaswani et al. (2017), eq. 1: ``score(q, k) = q^T k / sqrt(Dk)``."""

    def linear_weights(self, query: Tensor) -> Tensor:
        return query * (1.0 / math.sqrt(query.size(-1)))  # (Q, Dk), Dk == Dq

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        scale = 1.0 / math.sqrt(projected_keys.size(-1))
        return torch.bmm(query, projected_keys.transpose(1, 2)) * scale  # (B, Q, S)


class GeneralScorer(Scorer):
    """Luong et al. (2015), eq. 8, *general*: ``score(q, k) = q^T W k``.

    Parameters
    ----------
    query_size : int
        Dq.
    key_size : int
        Dk.
    """

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_size, query_size, bias=False)

    def project_keys(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)  # (B, S, Dq)

    def linear_weights(self, query: Tensor) -> Tensor | None:
        if not isinstance(self.key_proj, nn.Linear):  # e.g. replaced by an int8 layer
            return None
        return query @ self.key_proj.weight  # (Q, Dk): q^T W k = (W^T q)^T k

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        return torch.bmm(query, projected_keys.transpose(1, 2))  # (B, Q, S)


class AdditiveScorer(Scorer):
    """Bahdanau et al. (2015), eq. 6: ``score(q, k) = v^T tanh(W1 k + W2 q)``.

    Parameters
    ----------
    query_size : int
        Dq.
    key_size : int
        Dk.
    hidden_size : int
        A, the size of the tanh layer.
    """

    def __init__(self, query_size: int, key_size: int, hidden_size: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_size, hidden_size, bias=False)  # W1
        self.query_proj = nn.Linear(query_size, hidden_size, bias=True)  # W2 (+ bias)
        self.energy = nn.Linear(hidden_size, 1, bias=False)  # v

    def project_keys(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)  # (B, S, A)

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        q = self.query_proj(query)  # (B, Q, A)
        hidden = (q[:, :, None, :] + projected_keys[:, None, :, :]).tanh_()  # (B, Q, S, A)
        return self.energy(hidden).squeeze(-1)  # (B, Q, S)

    def score_shared(self, query: Tensor, keys: Tensor) -> Tensor:
        if query.size(0) != 1 or not isinstance(self.key_proj, nn.Linear):  # e.g. int8
            return super().score_shared(query, keys)
        # One query: W2 q + b is a constant, the bias of the key projection.
        bias = self.query_proj(query)[0]  # (A,)
        hidden = _by_rows(lambda k: tanh_linear(k, self.key_proj.weight, bias), keys)
        return _by_rows(self.energy, hidden).transpose(1, 2)  # (B, 1, S)


class Attention(nn.Module):
    """Score, masked softmax, weighted sum: ``context = sum_s softmax(score(q, k_s)) v_s``.

    Stateless: the scorer is injected, and the projected keys, when reused across calls
    (decoder steps), are computed by the caller with :meth:`project_keys` and passed in.

    Parameters
    ----------
    scorer : Scorer
        One of :class:`DotScorer`, :class:`ScaledDotScorer`, :class:`GeneralScorer`,
        :class:`AdditiveScorer`, or your own subclass of :class:`Scorer`.

    Examples
    --------
    >>> import torch
    >>> attn = Attention(DotScorer())
    >>> q, k = torch.randn(2, 1, 4), torch.randn(2, 3, 4)
    >>> mask = torch.tensor([[True, True, False], [True, True, True]])
    >>> out = attn(q, k, mask=mask)
    >>> out.context.shape, out.weights.shape
    (torch.Size([2, 1, 4]), torch.Size([2, 1, 3]))
    >>> float(out.weights[0, 0, 2])
    0.0
    """

    def __init__(self, scorer: Scorer) -> None:
        super().__init__()
        self.scorer = scorer

    def project_keys(self, keys: Tensor) -> Tensor:
        """Precompute the key-side projection once per batch; see :meth:`Scorer.project_keys`."""
        return self.scorer.project_keys(keys)

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor | None = None,
        mask: Tensor | None = None,
        projected_keys: Tensor | None = None,
    ) -> AttentionOutput:
        """Attend from each query over the keys.

        Parameters
        ----------
        query : Tensor of shape (B, Q, Dq), or (Q, Dq) for queries shared by every row
            (learned pooling queries; see :meth:`Scorer.score_shared`).
        keys : Tensor of shape (B, S, Dk)
        values : Tensor of shape (B, S, Dv), default=None
            Defaults to ``keys``.
        mask : bool Tensor of shape (B, S), default=None
            True for real keys. None means every key is real.
        projected_keys : Tensor, default=None
            ``self.project_keys(keys)``, when the caller has it already (per-row queries
            only: shared queries let the scorer project the keys its own way).

        Returns
        -------
        AttentionOutput
            ``context`` (B, Q, Dv) and ``weights`` (B, Q, S).
        """
        if values is None:
            values = keys
        if query.dim() == 2:
            scores = self.scorer.score_shared(query, keys)  # (B, Q, S)
        else:
            if projected_keys is None:
                projected_keys = self.scorer.project_keys(keys)
            scores = self.scorer(query, projected_keys)  # (B, Q, S)
        weights = masked_softmax(scores, mask)  # (B, Q, S)
        context = torch.bmm(weights, values)  # (B, Q, Dv)
        return AttentionOutput(context, weights)


class AttentionPooling(nn.Module):
    """Pool a sequence into one vector with learned queries (Lin et al., 2017).

    Each of the ``heads`` learned query vectors attends over the states; the contexts are
    concatenated: ``pooled = [c_1; ...; c_heads]``, ``c_h = sum_s a_{h,s} v_s``.

    Parameters
    ----------
    attention : Attention
        The attention that scores the learned queries against the states.
    query_size : int
        Dq, the size of each learned query.
    heads : int, default=1
        Number of learned queries.
    """

    def __init__(self, attention: Attention, query_size: int, heads: int = 1) -> None:
        super().__init__()
        self.attention = attention
        self.heads = heads
        self.query = nn.Parameter(torch.empty(heads, query_size))
        nn.init.normal_(self.query, std=query_size**-0.5)

    def forward(self, states: Tensor, mask: Tensor | None = None) -> AttentionOutput:
        """Pool the states.

        Parameters
        ----------
        states : Tensor of shape (B, S, Dv)
        mask : bool Tensor of shape (B, S), default=None

        Returns
        -------
        AttentionOutput
            ``context`` of shape (B, heads * Dv) and ``weights`` of shape (B, heads, S).
        """
        out = self.attention(self.query, states, mask=mask)  # query (heads, Dq), shared
        pooled = out.context.reshape(states.size(0), -1)  # (B, heads * Dv)
        return AttentionOutput(pooled, out.weights)

    def pool_halves(
        self, first: Tensor, second: Tensor, order: Tensor, mask: Tensor
    ) -> AttentionOutput | None:
        """Pool states that come in two halves, the second in another order of the tokens.

        A bidirectional encoder writes its forward states in the tokens' order and its
        backward ones reversed within each length (:meth:`RNNEncoder.directions`). With a
        score linear in the state (dot, scaled dot, general) the score of ``[f; b]`` is
        the sum of the halves' scores and the context is the halves' weighted sums side
        by side, so each half is read where it was written: only the scores and weights,
        one number per token and head, are reordered, not the states, and no joined
        copy of the states is made.

        Parameters
        ----------
        first : Tensor of shape (S, B, D1)
            The states' first D1 features, time-major, in the tokens' order.
        second : Tensor of shape (S, B, D2)
            Their last D2 features, time-major, rows in another order: flattened to
            (S * B, D2), row ``order[i]`` holds the token whose flat time-major position
            is ``i``.
        order : long Tensor of shape (S * B,)
            A permutation that is its own inverse, such as :func:`reversal_index`'s with
            ``time_major=True``; it must leave masked positions among masked ones.
        mask : bool Tensor of shape (B, S)
            True on real tokens; the values on the others are never read into the
            context (they get weight 0) and need only be finite.

        Returns
        -------
        AttentionOutput or None
            What :meth:`forward` gives on the joined states ``[first; second in order]``
            (to rounding): ``context`` (B, heads * (D1 + D2)), ``weights`` (B, heads, S).
            None when the score is not linear in the state (additive): join the halves
            and call :meth:`forward`.
        """
        linear = self.attention.scorer.linear_weights(self.query)  # (heads, D1 + D2)
        if linear is None:
            return None
        width, batch, size = first.shape  # S, B, D1
        heads = self.heads
        second_scores = second.reshape(width * batch, -1).mm(linear[:, size:].t())
        scores = torch.addmm(  # (S * B, heads), in the tokens' order
            second_scores.index_select(0, order),
            first.reshape(width * batch, size),
            linear[:, :size].t(),
        )
        scores = scores.view(width, batch, heads).permute(1, 2, 0)  # (B, heads, S)
        attention = masked_softmax(scores, mask)  # (B, heads, S), 0 on padding
        reordered = attention.permute(2, 0, 1).reshape(width * batch, heads).index_select(0, order)
        reordered = reordered.view(width, batch, heads).permute(1, 2, 0)  # second's order
        context = torch.cat(  # (B, heads, D1 + D2)
            [
                torch.bmm(attention, first.transpose(0, 1)),
                torch.bmm(reordered, second.transpose(0, 1)),
            ],
            dim=-1,
        )
        return AttentionOutput(context.reshape(batch, -1), attention)  # (B, heads * (D1+D2))
