"""Greedy search and beam search over a :class:`~bilstm_attn.nn.Seq2SeqNet`.

Both search a whole batch of sources at once and return one :class:`DecodeResult`, with
the attention matrix (target x source) of every output filled in; the translator turns
each output into a :class:`Translation` (its text, pieces and attention).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from bilstm_attn.nn import EncoderOutput, Seq2SeqNet

__all__ = ["DecodeResult", "Translation", "beam_search", "greedy_decode", "length_penalty"]


@dataclass
class DecodeResult:
    """Outputs of a search, one entry per source.

    Attributes
    ----------
    tokens : list of list of int
        Generated ids, without ``[BOS]`` and ``[EOS]``.
    scores : ndarray of shape (n_sources,)
        Log-probability of each output, its ``[EOS]`` included when it was produced.
    attention : list of ndarray of shape (len(tokens), source_length)
        Attention over the real source tokens when each output token was produced;
        rows sum to 1.
    token_scores : list of ndarray of shape (len(tokens),)
        Cumulative log-probability after each output token (never increasing).
    finished : ndarray of bool, shape (n_sources,)
        Whether the output ended with ``[EOS]`` before ``max_length``.
    """

    tokens: list[list[int]]
    scores: np.ndarray
    attention: list[np.ndarray]
    token_scores: list[np.ndarray]
    finished: np.ndarray

    @classmethod
    def gather(cls, parts: Iterable[tuple[np.ndarray, DecodeResult]], n: int) -> DecodeResult:
        """One result for ``n`` sources from the results of batches of them:
        ``(positions, result)`` pairs, row ``r`` of a result being source ``positions[r]``."""
        merged = cls([[]] * n, np.zeros(n), [None] * n, [None] * n, np.zeros(n, dtype=bool))
        for positions, result in parts:
            for row, index in enumerate(positions.tolist()):
                merged.tokens[index] = result.tokens[row]
                merged.scores[index] = result.scores[row]
                merged.attention[index] = result.attention[row]
                merged.token_scores[index] = result.token_scores[row]
                merged.finished[index] = result.finished[row]
        return merged


def length_penalty(length: int, alpha: float) -> float:
    """Wu et al. (2016), eq. 14: ``((5 + length) / 6) ** alpha``."""
    return ((5.0 + length) / 6.0) ** alpha


def _start(model: Seq2SeqNet, source_ids: Tensor, source_lengths: Tensor, repeat: int):
    encoded = model.encode(source_ids, source_lengths)
    if repeat > 1:
        index = torch.arange(source_ids.size(0), device=source_ids.device)
        index = index.repeat_interleave(repeat)  # (B * K,)
        encoded = EncoderOutput(encoded.states[index], encoded.mask[index], encoded.final[:, index])
    decoder = model.decoder
    return encoded, decoder.init_state(encoded), decoder.project_keys(encoded.states)


@torch.inference_mode()
def greedy_decode(
    model: Seq2SeqNet,
    source_ids: Tensor,
    source_lengths: Tensor,
    *,
    bos: int,
    eos: int,
    max_length: int,
) -> DecodeResult:
    """Pick the most probable token at every step, for a batch of sources.

    Parameters
    ----------
    model : Seq2SeqNet
    source_ids : long Tensor of shape (B, S)
    source_lengths : long Tensor of shape (B,)
    bos, eos : int
        Ids of ``[BOS]`` and ``[EOS]``.
    max_length : int
        Most output tokens, ``[EOS]`` included.

    Returns
    -------
    DecodeResult
    """
    encoded, state, projected = _start(model, source_ids, source_lengths, 1)
    batch = source_ids.size(0)
    previous = torch.full((batch,), bos, dtype=torch.long, device=source_ids.device)
    done = torch.zeros(batch, dtype=torch.bool, device=source_ids.device)
    steps: list[tuple[Tensor, Tensor, Tensor]] = []
    for _ in range(max_length):
        out = model.decoder.step(previous, state, encoded, projected)
        best_logp, best = out.logits.float().log_softmax(-1).max(-1)  # (B,), (B,)
        steps.append((best, best_logp, out.attention))
        done = done | (best == eos)
        previous, state = best, out.state
        if bool(done.all()):
            break
    tokens = torch.stack([s[0] for s in steps], 1).cpu().numpy()  # (B, T)
    logps = torch.stack([s[1] for s in steps], 1).cpu().numpy()  # (B, T)
    attention = torch.stack([s[2] for s in steps], 1).cpu().numpy()  # (B, T, S)
    lengths = source_lengths.cpu().numpy()
    result = DecodeResult([], np.zeros(batch), [], [], np.zeros(batch, dtype=bool))
    for b in range(batch):
        ends = np.flatnonzero(tokens[b] == eos)
        n = int(ends[0]) if len(ends) else tokens.shape[1]
        result.finished[b] = bool(len(ends))
        cumulative = np.cumsum(logps[b, : n + result.finished[b]])
        result.tokens.append(tokens[b, :n].tolist())
        result.scores[b] = cumulative[-1] if len(cumulative) else 0.0
        result.token_scores.append(cumulative[:n])
        result.attention.append(attention[b, :n, : lengths[b]])
    return result


@dataclass
class _Hypothesis:
    normalized: float
    score: float
    tokens: list[int]
    attention: np.ndarray
    token_scores: np.ndarray
    finished: bool


@torch.inference_mode()
def beam_search(
    model: Seq2SeqNet,
    source_ids: Tensor,
    source_lengths: Tensor,
    *,
    bos: int,
    eos: int,
    max_length: int,
    beam_size: int,
    alpha: float = 1.0,
) -> DecodeResult:
    """Keep the ``beam_size`` most probable prefixes per source; return the best output.

    Hypotheses are ranked by log-probability divided by :func:`length_penalty` (alpha 0
    ranks by log-probability alone). A source stops once ``beam_size`` hypotheses have
    ended with ``[EOS]``. With ``beam_size=1`` this is greedy search.

    Parameters are those of :func:`greedy_decode`, plus ``beam_size`` and ``alpha``.
    """
    encoded, state, projected = _start(model, source_ids, source_lengths, beam_size)
    batch, k, device = source_ids.size(0), beam_size, source_ids.device
    beam_scores = torch.full((batch, k), float("-inf"), device=device)
    beam_scores[:, 0] = 0.0  # one live beam per source at the start
    previous = torch.full((batch * k,), bos, dtype=torch.long, device=device)
    history = torch.zeros(batch * k, 0, dtype=torch.long, device=device)  # (B*K, t)
    cumulative = torch.zeros(batch * k, 0, device=device)  # (B*K, t)
    attention = torch.zeros(batch * k, 0, encoded.states.size(1), device=device)  # (B*K, t, S)
    finished: list[list[_Hypothesis]] = [[] for _ in range(batch)]
    active = [True] * batch
    lengths = source_lengths.cpu().numpy()

    def keep(b: int, row: int, score: float, ended: bool) -> None:
        n = history.size(1)
        finished[b].append(
            _Hypothesis(
                score / length_penalty(n + ended, alpha),
                score,
                history[row].tolist(),
                attention[row, :, : lengths[b]].cpu().numpy(),
                cumulative[row].cpu().numpy(),
                ended,
            )
        )

    for _ in range(max_length):
        out = model.decoder.step(previous, state, encoded, projected)
        logp = out.logits.float().log_softmax(-1)  # (B*K, V)
        vocab = logp.size(-1)
        candidates = (beam_scores.view(-1, 1) + logp).view(batch, k * vocab)  # (B, K*V)
        top_scores, top_index = candidates.topk(min(2 * k, k * vocab), dim=-1)  # (B, 2K)
        new_scores = torch.full((batch, k), float("-inf"), device=device)
        origin = torch.zeros(batch, k, dtype=torch.long, device=device)
        token = torch.full((batch, k), eos, dtype=torch.long, device=device)
        for b, (scores_b, index_b) in enumerate(zip(top_scores.tolist(), top_index.tolist())):
            if not active[b]:
                continue
            filled = 0
            for score, flat in zip(scores_b, index_b):
                row, tok = b * k + flat // vocab, flat % vocab
                if score == float("-inf") or filled == k:
                    break
                if tok == eos:
                    keep(b, row, score, ended=True)
                else:
                    new_scores[b, filled], origin[b, filled], token[b, filled] = score, row, tok
                    filled += 1
            active[b] = len(finished[b]) < k
        rows = origin.view(-1)  # (B*K,)
        step_scores = new_scores.view(-1, 1)
        history = torch.cat([history[rows], token.view(-1, 1)], dim=1)
        cumulative = torch.cat([cumulative[rows], step_scores], dim=1)
        attention = torch.cat([attention[rows], out.attention[rows].unsqueeze(1)], dim=1)
        state, previous, beam_scores = out.state.select(rows), token.view(-1), new_scores
        if not any(active):
            break
    for b in range(batch):
        if active[b]:  # out of steps: the live beams end without [EOS]
            for j, score in enumerate(beam_scores[b].tolist()):
                if score > float("-inf"):
                    keep(b, b * k + j, score, ended=False)
    best = [max(hyps, key=lambda h: h.normalized) for hyps in finished]
    return DecodeResult(
        tokens=[h.tokens for h in best],
        scores=np.array([h.score for h in best]),
        attention=[h.attention for h in best],
        token_scores=[h.token_scores for h in best],
        finished=np.array([h.finished for h in best]),
    )


@dataclass
class Translation:
    """One translated text with what the model attended to.

    Attributes
    ----------
    text : str
        The output text.
    source : str
        The input text.
    source_tokens, tokens : list of str
        The source pieces the model read and the pieces it wrote.
    attention : ndarray of shape (len(tokens), len(source_tokens))
        Row t: the attention over the source when ``tokens[t]`` was written; rows sum to 1.
    score : float
        Log-probability of the output.
    """

    text: str
    source: str
    source_tokens: list[str]
    tokens: list[str]
    attention: np.ndarray
    score: float

    def plot(self, ax=None):
        """Heatmap of the attention, source on x and output on y (needs matplotlib)."""
        from bilstm_attn.render import plot_attention

        return plot_attention(self.source_tokens, self.tokens, self.attention, ax=ax)

    def to_ansi(self) -> str:
        """The attention matrix drawn with shaded blocks for a terminal."""
        from bilstm_attn.render import attention_ansi

        return attention_ansi(self.source_tokens, self.tokens, self.attention)
