"""How faithful is an explanation? Metrics after DeYoung et al. (2020), ERASER.

For a text x predicted as class c with probability p(c | x), and the top ``k`` words of an
explanation (k = a fraction of the words the model read):

- comprehensiveness: ``p(c | x) - p(c | x without the top words)``; high when the words
  the explanation points at are the ones the prediction needs;
- sufficiency: ``p(c | x) - p(c | only the top words)``; low when they suffice;
- AOPC: each averaged over the fractions.

Agreement between two methods: Kendall's tau between their word weights, and the overlap
of their top 5 words. A random explanation gives the floor every method should beat.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from bilstm_attn._validation import check_texts
from bilstm_attn.classifier import BiLSTMAttentionClassifier
from bilstm_attn.explain import METHODS, _word_index, explain

__all__ = ["FaithfulnessResult", "faithfulness"]

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


def _top_words(weights: np.ndarray, read: np.ndarray, fraction: float) -> np.ndarray:
    """The ceil(fraction * n) heaviest of the words the model read (at least one)."""
    k = max(1, math.ceil(fraction * len(read)))
    order = read[np.argsort(-weights[read], kind="stable")]
    return order[:k]


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

    Parameters
    ----------
    clf : fitted BiLSTMAttentionClassifier
    X : texts
    methods : sequence of str
        Any of "attention", "integrated_gradients", "occlusion", and "random" (uniform
        random word weights, the baseline).
    fractions : sequence of float, default=(0.01, 0.05, 0.1, 0.2, 0.5)
    n_steps : int, default=50
        Integration steps of integrated gradients.
    random_state : int, default=0
        Seed of the random baseline.

    Returns
    -------
    FaithfulnessResult
        Texts the model reads no piece of are left out.
    """
    unknown = [m for m in methods if m not in (*METHODS, "random")]
    if unknown:
        raise ValueError(
            f"methods has unknown entries {unknown!r}; choose from "
            f"{', '.join(map(repr, (*METHODS, 'random')))}."
        )
    texts = check_texts(X, "X")
    pieces = _word_index(clf, texts)
    keep = [i for i, (ids, _, _) in enumerate(pieces) if len(ids) > 0]
    texts, pieces = [texts[i] for i in keep], [pieces[i] for i in keep]
    proba = clf.predict_proba(texts)
    predicted = proba.argmax(axis=1)
    rng = np.random.default_rng(random_state)
    weights = {}
    for method in methods:
        if method == "random":
            weights[method] = [rng.random(len(words)) for _, _, words in pieces]
        else:
            weights[method] = [e.weights for e in explain(clf, texts, method, n_steps=n_steps)]

    variants, slots = [], []
    for method, doc, fraction in itertools.product(methods, range(len(texts)), fractions):
        ids, index, _ = pieces[doc]
        top = _top_words(weights[method][doc], np.unique(index), fraction)
        in_top = np.isin(index, top)
        variants += [ids[~in_top], ids[in_top]]
        slots.append((method, doc, fraction))
    probs = clf._sequence_proba(variants)
    records: dict[tuple[str, int], dict] = {}
    for j, (method, doc, fraction) in enumerate(slots):
        c, p0 = predicted[doc], proba[doc, predicted[doc]]
        row = records.setdefault((method, doc), {"document": keep[doc], "method": method})
        row[f"comprehensiveness@{fraction}"] = p0 - probs[2 * j, c]
        row[f"sufficiency@{fraction}"] = p0 - probs[2 * j + 1, c]
    per_document = pd.DataFrame(list(records.values()))
    for metric in ("comprehensiveness", "sufficiency"):
        columns = [f"{metric}@{f}" for f in fractions]
        per_document[f"aopc_{metric}"] = per_document[columns].mean(axis=1)

    agreement_rows = []
    for a, b in itertools.combinations(methods, 2):
        for doc, (_, index, _) in enumerate(pieces):
            read = np.unique(index)
            wa, wb = weights[a][doc][read], weights[b][doc][read]
            tau = kendalltau(wa, wb).statistic if len(read) > 1 else np.nan
            k = min(5, len(read))
            overlap = (
                len(
                    set(_top_words(wa, np.arange(len(read)), k / len(read)))
                    & set(_top_words(wb, np.arange(len(read)), k / len(read)))
                )
                / k
            )
            agreement_rows.append(
                {
                    "document": keep[doc],
                    "methods": f"{a} / {b}",
                    "kendall_tau": tau,
                    "top5_overlap": overlap,
                }
            )
    agreement = pd.DataFrame(agreement_rows)
    summary = pd.concat(
        [
            per_document.groupby("method", sort=False)[
                ["aopc_comprehensiveness", "aopc_sufficiency"]
            ].mean(),
            agreement.groupby("methods", sort=False)[["kendall_tau", "top5_overlap"]].mean(),
        ]
    )
    return FaithfulnessResult(per_document, agreement, summary)
