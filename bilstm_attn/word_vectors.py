"""Word vectors learned from the training texts themselves: PPMI and a truncated SVD.

Count how often each pair of pieces occurs within a few positions of each other, turn
the counts into positive pointwise mutual information (with the context distribution
smoothed, alpha = 0.75) and keep the top singular directions of that matrix
(Levy, Goldberg & Dagan, 2015, "Improving distributional similarity with lessons
learned from word embeddings", TACL: PPMI + SVD with ``U * sqrt(S)`` matches word2vec's
skip-gram on similarity tasks). No download and no second corpus: the vectors start
the classifier's embedding from what co-occurs in the texts given to ``fit``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd

__all__ = ["cooccurrence_counts", "ppmi", "ppmi_svd_vectors"]


def cooccurrence_counts(
    sequences: Sequence[np.ndarray], n_vocab: int, window: int = 5
) -> sp.csr_matrix:
    """Symmetric co-occurrence counts within ``window`` positions, weighted ``1 / distance``.

    Parameters
    ----------
    sequences : sequence of int ndarray
        Token ids of each text; pairs never cross from one text into the next.
    n_vocab : int
        Number of ids (rows and columns of the result).
    window : int, default=5

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_vocab, n_vocab)
    """
    gap = np.full(window, -1, dtype=np.int64)  # keeps pairs inside one text
    stream = np.concatenate([part for seq in sequences for part in (seq, gap)] or [gap])
    counts = sp.csr_matrix((n_vocab, n_vocab), dtype=np.float64)
    for distance in range(1, window + 1):
        left, right = stream[:-distance], stream[distance:]
        real = (left >= 0) & (right >= 0)
        left, right = left[real], right[real]
        weights = np.full(len(left), 1.0 / distance)
        counts = counts + sp.csr_matrix((weights, (left, right)), shape=(n_vocab, n_vocab))
    return (counts + counts.T).tocsr()


def ppmi(counts: sp.csr_matrix, alpha: float = 0.75) -> sp.csr_matrix:
    """Positive PMI, ``max(0, log p(w, c) / (p(w) p_alpha(c)))``, of co-occurrence counts.

    ``p_alpha(c)`` raises the context counts to ``alpha`` before normalising, which
    lowers the PMI of pairs with rare contexts (Levy et al., 2015, sec. 3.2).
    """
    coo = counts.tocoo()
    words = np.asarray(counts.sum(axis=1)).ravel()  # (V,)
    contexts = np.asarray(counts.sum(axis=0)).ravel() ** alpha  # (V,)
    pmi = np.log(coo.data * contexts.sum() / (words[coo.row] * contexts[coo.col]))
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape)


def ppmi_svd_vectors(
    sequences: Sequence[np.ndarray],
    n_vocab: int,
    dim: int,
    rng: np.random.Generator,
    *,
    window: int = 5,
    skip: Sequence[int] = (),
) -> tuple[np.ndarray, int]:
    """Word vectors of every id from the texts' own co-occurrences.

    Parameters
    ----------
    sequences : sequence of int ndarray
        Token ids of the training texts.
    n_vocab : int
        Rows of the result.
    dim : int
        Size of each vector (at most ``n_vocab - 1``).
    rng : numpy Generator
        Seeds the SVD and the random vectors of ids that never co-occur.
    window : int, default=5
    skip : sequence of int, default=()
        Ids to leave out of the counts (padding); their rows are zero.

    Returns
    -------
    vectors : float32 ndarray of shape (n_vocab, dim)
        Each learned row scaled to norm ``sqrt(dim)``, so that its entries have about
        unit variance, like ``nn.Embedding``'s default initialisation; ids without
        co-occurrences get random N(0, 1) rows.
    found : int
        Ids that got a learned vector.
    """
    if skip:
        sequences = [seq[~np.isin(seq, skip)] for seq in sequences]
    counts = cooccurrence_counts(sequences, n_vocab, window)
    matrix = ppmi(counts)
    k = max(1, min(dim, n_vocab - 1))
    seed = int(rng.integers(np.iinfo(np.int32).max))
    u, s, _ = randomized_svd(matrix, k, n_iter=5, random_state=seed)
    learned = u * np.sqrt(s)  # (V, k)
    if k < dim:
        learned = np.pad(learned, ((0, 0), (0, dim - k)))
    norms = np.linalg.norm(learned, axis=1, keepdims=True)
    seen = (matrix.getnnz(axis=1) > 0) & (norms[:, 0] > 0)  # ids with a positive PMI
    vectors = rng.normal(size=(n_vocab, dim))
    vectors[seen] = learned[seen] / norms[seen] * np.sqrt(dim)
    vectors[list(skip)] = 0.0
    return vectors.astype(np.float32), int(seen.sum())
