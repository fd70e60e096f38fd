"""How faithful is an explanation? Metrics after DeYoung et al. (2020), ERASER.

For a text x predicted as class c with probability p(c | x), and the top ``k`` words of an
explanation (k = ``ceil(f * n)`` of the ``n`` words the model read, for a fraction f):

- comprehensiveness: ``p(c | x) - p(c | x without the top words)``; high when the words
  the explanation points at are the ones the prediction needs;
- sufficiency: ``p(c | x) - p(c | only the top words)``; low when they suffice;
- AOPC: each averaged over the fractions.

Agreement between two methods: Kendall's tau between their word weights, and the overlap
of their top 5 words (of their top ``n`` when fewer than 5 were read; at most 1). A random
explanation gives the floor every method should beat.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from sklearn.utils.validation import check_is_fitted

from bilstm_attn._validation import check_texts
from bilstm_attn.explain import METHODS, explain_encoded, probabilities_of_variants, words_read

if TYPE_CHECKING:
    from bilstm_attn.classifier import BiLSTMAttentionClassifier, EncodedText

__all__ = ["FaithfulnessResult", "faithfulness", "top_overlap"]

FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5)


@dataclass
class FaithfulnessResult:
    """What :func:`faithfulness` returns.

    Attributes
    ----------
    per_document : DataFrame
        One row per (document, method): ``comprehensiveness@f`` and ``sufficiency@f`` for
        each fraction f, ``aopc_comprehensiveness``, ``aopc_sufficiency``.
    agreement : DataFrame
        One row per (document, method pair): ``kendall_tau``, ``top5_overlap``.
    summary : DataFrame
        Means per method (AOPCs) and per method pair (agreement).
    """

    per_document: pd.DataFrame
    agreement: pd.DataFrame
    summary: pd.DataFrame


def _top_count(fraction: float, n: int) -> int:
    """ceil(fraction * n), at least 1, computed exactly (0.1 * 30 is 3, not 4)."""
    return max(1, math.ceil(Fraction(repr(float(fraction))) * n))


def _top_words(weights: np.ndarray, read: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` heaviest of the words the model read (ties: the earlier word)."""
    order = read[np.argsort(-weights[read], kind="stable")]
    return order[:k]


def top_overlap(a: np.ndarray, b: np.ndarray, k: int = 5) -> float:
    """Share of the top ``min(k, n)`` entries of ``a`` that are among those of ``b``."""
    k = min(k, len(a))
    if k == 0:
        return np.nan
    everything = np.arange(len(a))
    return len(set(_top_words(a, everything, k)) & set(_top_words(b, everything, k))) / k


def _check_fractions(fractions) -> tuple:
    """The fractions as given (they name the columns), each a number in (0, 1]."""
    try:
        checked = tuple(fractions)
    except TypeError:
        checked = ()
    if not checked or not all(
        isinstance(f, numbers.Real) and not isinstance(f, bool) and 0 < f <= 1 for f in checked
    ):
        raise ValueError(f"fractions must be numbers in (0, 1]; got {fractions!r}.")
    return checked


def faithfulness(
    clf: BiLSTMAttentionClassifier,
    X,
    methods=("attention", "integrated_gradients", "occlusion", "random"),
    *,
    fractions=FRACTIONS,
    n_steps: int = 50,
    random_state: int = 0,
) -> FaithfulnessResult:
    """Comprehensiveness, sufficiency, AOPC and agreement of explanation methods.

    The texts' variants (the top words removed, only the top words kept) are made and
    scored a chunk at a time, so memory stays flat in the number of texts. Uses only
    the classifier's public surface; safe to call from several threads at once.

    Parameters
    ----------
    clf : fitted BiLSTMAttentionClassifier
    X : texts
    methods : sequence of str
        Any of "attention", "integrated_gradients", "occlusion", and "random" (uniform
        random word weights, the baseline).
    fractions : sequence of float, default=(0.01, 0.05, 0.1, 0.2, 0.5)
        Shares of the words read that make up the top words: ``ceil(f * n)`` of ``n``,
        at least one.
    n_steps : int, default=50
        Integration steps of integrated gradients.
    random_state : int, default=0
        Seed of the random baseline.

    Returns
    -------
    FaithfulnessResult
        Texts in which the model reads no word are left out.
    """
    methods = _check_methods(methods)
    fractions = _check_fractions(fractions)
    check_is_fitted(clf)
    texts = check_texts(X, "X")
    encoded = clf.encode(texts)
    keep = [i for i, e in enumerate(encoded) if len(words_read(e)) > 0]
    if not keep:
        raise ValueError("X has no text with a word the model reads; faithfulness needs one.")
    texts, encoded = [texts[i] for i in keep], [encoded[i] for i in keep]
    proba = clf.predict_proba_ids([e.ids for e in encoded])
    predicted = proba.argmax(axis=1)
    rng = np.random.default_rng(random_state)
    weights = {}
    for method in methods:
        if method == "random":
            weights[method] = [rng.random(len(e.words)) for e in encoded]
        else:
            found = explain_encoded(clf, texts, encoded, method, n_steps=n_steps)
            weights[method] = [e.weights for e in found]
    slots = itertools.product(methods, range(len(texts)), fractions)
    records: dict[tuple[str, int], dict] = {}
    for (method, doc, fraction, metric), p in probabilities_of_variants(
        clf, _variants(encoded, weights, slots)
    ):
        c = predicted[doc]
        row = records.setdefault((method, doc), {"document": keep[doc], "method": method})
        row[f"{metric}@{fraction}"] = proba[doc, c] - p[c]
    per_document = pd.DataFrame(list(records.values()))
    for metric in ("comprehensiveness", "sufficiency"):
        columns = [f"{metric}@{f}" for f in fractions]
        per_document[f"aopc_{metric}"] = per_document[columns].mean(axis=1)
    agreement = _agreement(encoded, weights, methods, keep)
    summary = pd.concat(
        [
            per_document.groupby("method", sort=False)[
                ["aopc_comprehensiveness", "aopc_sufficiency"]
            ].mean(),
            agreement.groupby("methods", sort=False)[["kendall_tau", "top5_overlap"]].mean(),
        ]
    )
    return FaithfulnessResult(per_document, agreement, summary)


def _check_methods(methods) -> tuple[str, ...]:
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    known = (*METHODS, "random")
    unknown = [m for m in methods if m not in known]
    if unknown or not methods:
        found = f"has unknown entries {unknown!r}" if unknown else "is empty"
        raise ValueError(f"methods {found}; choose from {', '.join(map(repr, known))}.")
    return methods


def _variants(encoded: list[EncodedText], weights: dict, slots) -> Iterator:
    """For each (method, document, fraction) of ``slots``: the text without its top
    words, and the top words alone, each keyed by the slot and the metric."""
    for method, doc, fraction in slots:
        text = encoded[doc]
        read = words_read(text)
        top = _top_words(weights[method][doc], read, _top_count(fraction, len(read)))
        in_top = np.isin(text.word_index, top)
        yield (method, doc, fraction, "comprehensiveness"), text.ids[~in_top]
        yield (method, doc, fraction, "sufficiency"), text.ids[in_top]


def _agreement(
    encoded: list[EncodedText], weights: dict, methods: tuple[str, ...], keep: list[int]
) -> pd.DataFrame:
    """Kendall's tau and the top-5 overlap of each pair of methods, per document."""
    rows = []
    for a, b in itertools.combinations(methods, 2):
        for doc, text in enumerate(encoded):
            read = words_read(text)
            wa, wb = weights[a][doc][read], weights[b][doc][read]
            tau = kendalltau(wa, wb).statistic if len(read) > 1 else np.nan
            overlap = top_overlap(wa, wb, 5)
            rows.append(
                {"document": keep[doc], "methods": f"{a} / {b}", "kendall_tau": tau,
                 "top5_overlap": overlap}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["document", "methods", "kendall_tau", "top5_overlap"])
