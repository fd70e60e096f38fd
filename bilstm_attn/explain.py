"""Which words a prediction rested on: attention, integrated gradients, occlusion.

Every method scores the pieces the model read and sums the scores onto the
whitespace-separated words of the original text (through the tokenizer's offsets).

- ``"attention"``: the pooling weights (mean over heads; each head kept). They show where
  the model looked; they are **not by themselves a faithful attribution** of the
  prediction (Jain & Wallace, 2019). Compare them with the two methods below.
- ``"integrated_gradients"`` (Sundararajan et al., 2017): captum's
  ``LayerIntegratedGradients`` on the embedding layer, from an all-``[PAD]`` baseline of
  the same length to the text, for the probability of the predicted class. The scores
  add up to ``p(text) - p(baseline)`` (completeness); ``delta`` reports the error.
- ``"occlusion"``: how much the predicted class's probability drops when the word is
  removed from the text (its pieces left out).

Words cut by truncation (``max_length``, ``truncation``) were not read and score 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from bilstm_attn._validation import check_texts
from bilstm_attn.classifier import BiLSTMAttentionClassifier
from bilstm_attn.text import encode_with_offsets, pad_batch, pad_id, piece_word_index, word_spans

__all__ = ["METHODS", "Explanation", "WordWeights", "attention_by_word", "explain", "save_html"]

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


def _word_index(clf: BiLSTMAttentionClassifier, texts: list[str]):
    """Per text: the ids the model reads, each piece's word, and the words."""
    encoded = encode_with_offsets(clf.tokenizer_, texts, clf.max_length, clf.truncation)
    out = []
    for text, (ids, offsets) in zip(texts, encoded):
        spans = word_spans(text)
        out.append((ids, piece_word_index(offsets, spans), [text[a:b] for a, b in spans]))
    return out


def _to_words(piece_scores: np.ndarray, index: np.ndarray, n_words: int) -> np.ndarray:
    return np.bincount(index, piece_scores, minlength=n_words).astype(np.float64)


def attention_by_word(clf: BiLSTMAttentionClassifier, X) -> list[WordWeights]:
    """The fitted classifier's pooling attention, summed from pieces onto words."""
    texts = check_texts(X, "X")
    found = []
    for text, heads, (_, index, words) in zip(
        texts, clf.attention_weights(texts), _word_index(clf, texts)
    ):
        per_head = np.stack([_to_words(head, index, len(words)) for head in heads])
        found.append(WordWeights(text, words, per_head.mean(axis=0), per_head))
    return found


def _occlusion(clf, pieces, predicted: np.ndarray, proba: np.ndarray) -> list[np.ndarray]:
    """Drop in the predicted class's probability when each word's pieces are removed."""
    variants, owners = [], []
    for row, (ids, index, _) in enumerate(pieces):
        for word in np.unique(index):
            variants.append(ids[index != word])
            owners.append((row, int(word)))
    scores = [np.zeros(len(words)) for _, _, words in pieces]
    if variants:
        without = clf._sequence_proba(variants)
        for (row, word), p in zip(owners, without):
            scores[row][word] = proba[row] - p[predicted[row]]
    return scores


def _integrated_gradients(clf, pieces, predicted: np.ndarray, n_steps: int):
    """Layer integrated gradients on the embedding, per word, and the convergence deltas."""
    from captum.attr import LayerIntegratedGradients

    module, device, pad = clf.module_, clf.device_, pad_id(clf.tokenizer_)

    def probability(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return module(ids, lengths).logits.softmax(-1)  # (B, C)

    method = LayerIntegratedGradients(probability, module.encoder.embedded)
    scores = [np.zeros(len(words)) for _, _, words in pieces]
    deltas = np.zeros(len(pieces))
    lengths = np.array([len(ids) for ids, _, _ in pieces])
    rows = [r for r in np.argsort(lengths, kind="stable") if lengths[r] > 0]
    batch = max(1, 512 // n_steps)
    cudnn_off = torch.backends.cudnn.flags(enabled=False)  # RNN backward in eval mode
    with torch.enable_grad(), cudnn_off:
        for start in range(0, len(rows), batch):
            chosen = rows[start : start + batch]
            ids, lens = pad_batch([pieces[r][0] for r in chosen], pad)  # (B, S), (B,)
            ids, lens = ids.to(device), lens.to(device)
            attributions, delta = method.attribute(
                ids,
                baselines=torch.full_like(ids, pad),
                target=predicted[chosen].tolist(),
                additional_forward_args=(lens,),
                n_steps=n_steps,
                internal_batch_size=len(chosen) * n_steps,
                return_convergence_delta=True,
            )  # (B, S, E), (B,)
            per_piece = attributions.sum(-1).detach().cpu().double().numpy()  # (B, S)
            for j, r in enumerate(chosen):
                ids_r, index, words = pieces[r]
                scores[r] = _to_words(per_piece[j, : len(ids_r)], index, len(words))
                deltas[r] = float(delta[j])
    return scores, deltas


def explain(
    clf: BiLSTMAttentionClassifier, X, method: str = "attention", *, n_steps: int = 50
) -> list[Explanation]:
    """One :class:`Explanation` per text of ``X``; see the module docstring.

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
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int; got {n_steps!r}.")
    texts = check_texts(X, "X")
    proba = clf.predict_proba(texts)
    predicted = proba.argmax(axis=1)
    confidence = proba[np.arange(len(texts)), predicted]
    pieces = _word_index(clf, texts)
    heads: list = [None] * len(texts)
    deltas: list = [None] * len(texts)
    if method == "attention":
        found = attention_by_word(clf, texts)
        scores = [w.weights for w in found]
        heads = [w.head_weights for w in found]
    elif method == "occlusion":
        scores = _occlusion(clf, pieces, predicted, confidence)
    else:
        scores, delta_array = _integrated_gradients(clf, pieces, predicted, n_steps)
        deltas = delta_array.tolist()
    return [
        Explanation(text, words, score, clf.classes_[label], float(p), method, head, delta)
        for text, (_, _, words), score, label, p, head, delta in zip(
            texts, pieces, scores, predicted, confidence, heads, deltas
        )
    ]


def save_html(explanations: list[Explanation], path) -> None:
    """Write one standalone HTML report (inline style, no scripts or external files)."""
    from bilstm_attn.render import html_document

    page = html_document([e.to_html() for e in explanations])
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
