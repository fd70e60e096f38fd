"""Which words a prediction rested on: attention, integrated gradients, occlusion.

Every method scores the pieces the model read and sums the scores onto the
whitespace-separated words of the original text (through the tokenizer's offsets).

- ``"attention"``: the pooling weights (mean over heads; each head kept). They show where
  the model looked; they are **not by themselves a faithful attribution** of the
  prediction (Jain & Wallace, 2019). Compare them with the two methods below.
- ``"integrated_gradients"`` (Sundararajan et al., 2017): captum's
  ``IntegratedGradients`` on the embeddings (given to the network as its input, so that
  no hook is attached to the shared model), from the embeddings of an all-``[PAD]``
  baseline of the same length to the text's, for the probability of the predicted class. The scores
  add up to ``p(text) - p(baseline)`` (completeness); ``delta`` reports the error.
- ``"occlusion"``: how much the predicted class's probability drops when the word is
  removed from the text (its pieces left out).

Words cut by truncation (``max_length``, ``truncation``) were not read and score 0.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import check_is_fitted

from bilstm_attn._base import gradient_map
from bilstm_attn._precision import autocast
from bilstm_attn._validation import check_texts
from bilstm_attn.text import pad_batch, pad_id, sorted_batches

if TYPE_CHECKING:
    from bilstm_attn.classifier import BiLSTMAttentionClassifier, EncodedText

T = TypeVar("T")

__all__ = [
    "METHODS",
    "Explanation",
    "WordWeights",
    "attention_by_word",
    "explain",
    "explain_encoded",
    "probabilities_of_variants",
    "save_html",
    "words_read",
]

METHODS = ("attention", "integrated_gradients", "occlusion")


@dataclass
class Explanation:
    """Why the classifier predicted what it did for one text.

    Attributes
    ----------
    text : str
        The text as given.
    tokens : list of str
        Its whitespace-separated words, verbatim.
    weights : ndarray of shape (len(tokens),)
        One score per word (see the module docstring for each method's meaning).
    label : object
        The predicted label.
    proba : float
        Its probability.
    method : str
        "attention", "integrated_gradients" or "occlusion".
    head_weights : ndarray of shape (attention_heads, len(tokens)) or None
        Attention only: each head's weights (``weights`` is their mean).
    delta : float or None
        Integrated gradients only: ``sum(weights) - (p(text) - p(baseline))``.
    """

    text: str
    tokens: list[str]
    weights: np.ndarray
    label: object
    proba: float
    method: str
    head_weights: np.ndarray | None = field(default=None, repr=False)
    delta: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per word: ``token``, ``weight``."""
        return pd.DataFrame({"token": self.tokens, "weight": self.weights})

    def to_html(self) -> str:
        """An HTML fragment: the words highlighted by weight, the label and probability.

        All text is escaped: a text containing ``<script>`` shows as text.
        """
        from bilstm_attn.render import explanation_html

        return explanation_html(
            self.tokens, self.weights, label=self.label, proba=self.proba, method=self.method
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def plot(self, ax=None):
        """A bar chart of the weight of each word (needs matplotlib)."""
        from bilstm_attn.render import plot_weights

        title = f"{self.label} ({self.proba:.2f}), {self.method}"
        return plot_weights(self.tokens, self.weights, title=title, ax=ax)

    def to_ansi(self, *, color: bool = True, top_k: int = 3) -> str:
        """The text for a terminal, heavier words highlighted (see ``render.highlight_ansi``)."""
        from bilstm_attn.render import highlight_ansi

        return highlight_ansi(self.tokens, np.clip(self.weights, 0, None), color=color, top_k=top_k)


# Kept for the demo: the attention weights per word without the prediction.
@dataclass
class WordWeights:
    """Per-word attention of one text (see :func:`attention_by_word`)."""

    text: str
    words: list[str]
    weights: np.ndarray
    head_weights: np.ndarray


# Pieces of occlusion's and faithfulness's variants handed to the classifier at once:
# enough to fill every core's batches, few enough that the variants of 1,000 long
# reviews never sit in memory together (16 MiB of ids).
CHUNK_PIECES = 1 << 21
# Pieces times integration steps that integrated gradients differentiates at once: its
# backward pass keeps every step's recurrent states (kilobytes a piece), so this bounds
# its memory whatever the texts' lengths.
GRADIENT_PIECES = 1 << 14


def _to_words(piece_scores: np.ndarray, index: np.ndarray, n_words: int) -> np.ndarray:
    """Per-piece scores summed onto the words (a piece in no word, index -1, left out)."""
    inside = index >= 0
    return np.bincount(index[inside], piece_scores[inside], minlength=n_words).astype(np.float64)


def _head_words(heads: np.ndarray, text: EncodedText) -> np.ndarray:
    """Each head's attention (heads, n_pieces) summed onto the words (heads, n_words)."""
    rows = [_to_words(head, text.word_index, len(text.words)) for head in heads]
    return np.stack(rows) if rows else np.zeros((0, len(text.words)))


def attention_by_word(clf: BiLSTMAttentionClassifier, X) -> list[WordWeights]:
    """The fitted classifier's pooling attention, summed from pieces onto words."""
    texts = check_texts(X, "X")
    encoded = clf.encode(texts)
    attention = clf.proba_and_attention([e.ids for e in encoded]).attention
    found = []
    for text, e, heads in zip(texts, encoded, attention):
        per_head = _head_words(heads, e)
        found.append(WordWeights(text, e.words, per_head.mean(axis=0), per_head))
    return found


def probabilities_of_variants(
    clf: BiLSTMAttentionClassifier, variants: Iterator[tuple[T, np.ndarray]]
) -> Iterator[tuple[T, np.ndarray]]:
    """``(key, probabilities)`` for each ``(key, ids)`` of ``variants``, in their order,
    the variants taken ``CHUNK_PIECES`` pieces at a time, so that only one chunk of them
    is ever in memory."""
    keys: list[T] = []
    chunk: list[np.ndarray] = []
    pieces = 0
    for key, ids in itertools.chain(variants, [(None, None)]):
        if ids is not None:
            keys.append(key)
            chunk.append(ids)
            pieces += len(ids) + 1
        if chunk and (ids is None or pieces >= CHUNK_PIECES):
            yield from zip(keys, clf.predict_proba_ids(chunk))
            keys, chunk, pieces = [], [], 0


def words_read(text: EncodedText) -> np.ndarray:
    """The words of ``text`` that at least one piece the model reads lies in, in order."""
    return np.unique(text.word_index[text.word_index >= 0])


def _occlusion(
    clf: BiLSTMAttentionClassifier,
    encoded: list[EncodedText],
    predicted: np.ndarray,
    proba: np.ndarray,
) -> list[np.ndarray]:
    """Drop in the predicted class's probability when each word's pieces are removed."""

    def variants() -> Iterator[tuple[tuple[int, int], np.ndarray]]:
        for row, text in enumerate(encoded):
            for word in words_read(text):
                yield (row, int(word)), text.ids[text.word_index != word]

    scores = [np.zeros(len(text.words)) for text in encoded]
    for (row, word), p in probabilities_of_variants(clf, variants()):
        scores[row][word] = proba[row] - p[predicted[row]]
    return scores


# On CUDA the RNN's backward needs cuDNN off, a switch of the whole process: calls on
# CUDA take turns, and while one runs, other CUDA work of the process runs without cuDNN
# (slower kernels). On CPU nothing is shared between calls.
_CUDNN_SWITCH = threading.Lock()


def _integrated_gradients(
    clf: BiLSTMAttentionClassifier, encoded: list[EncodedText], predicted: np.ndarray, n_steps: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Integrated gradients on the embeddings, per word, and the convergence deltas."""
    from captum.attr import IntegratedGradients

    module, device, pad = clf.module_, clf.device_, pad_id(clf.tokenizer_)

    def probability(embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return module.classify(embedded, lengths).logits.softmax(-1)  # (B, C)

    method = IntegratedGradients(probability)  # the embeddings are its input: no hooks
    scores = [np.zeros(len(text.words)) for text in encoded]
    deltas = np.zeros(len(encoded))
    lengths = np.array([len(text.ids) for text in encoded], dtype=np.int64)
    read = np.flatnonzero(lengths > 0)
    most = max(1, 512 // n_steps)  # texts at once, whatever their lengths
    batches = [
        read[part[start : start + most]]
        for part in sorted_batches(lengths[read], GRADIENT_PIECES, multiple=1)  # fp32
        for start in range(0, len(part), most)
    ]

    def attribute(chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-piece scores (B, S) and deltas (B,) of one batch of texts, in float32."""
        ids, lens = pad_batch([encoded[r].ids for r in chosen], pad)  # (B, S), (B,)
        ids, lens = ids.to(device), lens.to(device)
        with torch.no_grad():
            inputs = module.encoder.embed(ids)  # (B, S, E)
            baselines = module.encoder.embed(torch.full_like(ids, pad))  # (B, S, E)
        steps_at_once = max(1, GRADIENT_PIECES // ids.numel())  # steps per backward
        with autocast("fp32", device):  # explanations are float32 in every precision
            attributions, delta = method.attribute(
                inputs,
                baselines=baselines,
                target=predicted[chosen].tolist(),
                additional_forward_args=(lens,),
                n_steps=n_steps,
                internal_batch_size=len(chosen) * min(n_steps, steps_at_once),
                return_convergence_delta=True,
            )  # (B, S, E), (B,)
        per_piece = attributions.sum(-1).detach().cpu().double().numpy()  # (B, S)
        return per_piece, delta.detach().cpu().double().numpy()

    on_cuda = device.type == "cuda"
    with (
        _CUDNN_SWITCH if on_cuda else contextlib.nullcontext(),
        torch.backends.cudnn.flags(enabled=False) if on_cuda else contextlib.nullcontext(),
    ):
        # On CPU the batches run in one-thread workers, one per torch thread, as
        # prediction's do: a recurrent layer's backward splits poorly across threads.
        for chosen, (per_piece, delta) in zip(batches, gradient_map(attribute, batches, device)):
            for j, r in enumerate(chosen):
                text = encoded[r]
                scores[r] = _to_words(
                    per_piece[j, : len(text.ids)], text.word_index, len(text.words)
                )
                deltas[r] = float(delta[j])
    return scores, deltas


def explain(
    clf: BiLSTMAttentionClassifier, X, method: str = "attention", *, n_steps: int = 50
) -> list[Explanation]:
    """One :class:`Explanation` per text of ``X``; see the module docstring.

    Uses only the classifier's public surface (``encode``, ``proba_and_attention``,
    ``predict_proba_ids``, ``module_``), and is safe to call from several threads at
    once: every method gives there what it gives alone.

    Parameters
    ----------
    clf : fitted BiLSTMAttentionClassifier
    X : list, tuple, ndarray or pandas Series of str, or one-column DataFrame
    method : {"attention", "integrated_gradients", "occlusion"}, default="attention"
    n_steps : int, default=50
        Integration steps of integrated gradients.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}.")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int; got {n_steps!r}.")
    check_is_fitted(clf)
    texts = check_texts(X, "X")
    encoded = clf.encode(texts)
    return explain_encoded(clf, texts, encoded, method, n_steps=n_steps)


def explain_encoded(
    clf: BiLSTMAttentionClassifier,
    texts: list[str],
    encoded: list[EncodedText],
    method: str,
    *,
    n_steps: int = 50,
) -> list[Explanation]:
    """:func:`explain` of texts already encoded by ``clf.encode`` (checked arguments)."""
    reading = clf.proba_and_attention([e.ids for e in encoded])
    proba = reading.proba
    predicted = proba.argmax(axis=1)
    confidence = proba[np.arange(len(texts)), predicted]
    heads: list = [None] * len(texts)
    deltas: list = [None] * len(texts)
    if method == "attention":
        heads = [_head_words(h, e) for h, e in zip(reading.attention, encoded)]
        scores = [h.mean(axis=0) for h in heads]
    elif method == "occlusion":
        scores = _occlusion(clf, encoded, predicted, confidence)
    else:
        scores, delta_array = _integrated_gradients(clf, encoded, predicted, n_steps)
        deltas = delta_array.tolist()
    return [
        Explanation(text, e.words, score, clf.classes_[label], float(p), method, head, delta)
        for text, e, score, label, p, head, delta in zip(
            texts, encoded, scores, predicted, confidence, heads, deltas
        )
    ]


def save_html(explanations: list[Explanation], path) -> None:
    """Write one standalone HTML report (inline style, no scripts or external files)."""
    from bilstm_attn.render import html_document

    page = html_document([e.to_html() for e in explanations])
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
