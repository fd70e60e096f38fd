"""Word vectors learned from the training texts themselves: PPMI and a truncated SVD.

Count how often each pair of pieces occurs within a few positions of each other, turn
the counts into positive pointwise mutual information (with the context distribution
smoothed, alpha = 0.75) and keep the top singular directions of that matrix
(Levy, Goldberg & Dagan, 2015, "Improving distributional similarity with lessons
learned from word embeddings", TACL: PPMI + SVD with ``U * sqrt(S)`` matches word2vec's
skip-gram on similarity tasks). No download and no second corpus: the vectors start
the classifier's embedding from what co-occurs in the texts given to ``fit``.

Or vectors read from a word2vec or GloVe text file (:func:`read_word_vectors`);
:func:`starting_vectors` picks between the two as the classifier's
``pretrained_embeddings`` says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd

__all__ = [
    "cooccurrence_counts",
    "ppmi",
    "ppmi_svd_vectors",
    "read_word_vectors",
    "starting_vectors",
]


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


def read_word_vectors(
    path: str | os.PathLike,
    vocab: Mapping[str, int],
    n_rows: int,
    pad: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """An embedding matrix for a vocabulary (piece -> id) from a word2vec/GloVe text file.

    Each line is a word followed by its vector, separated by spaces; a word2vec header
    line (``count dim``) is skipped. Vocabulary entries not in the file (and sub-word
    pieces) get random vectors with the file's mean and standard deviation; the padding
    row is zero. A word is looked up as written, then lowercased.

    Returns
    -------
    matrix : ndarray of shape (n_rows, dim)
        Row ``pad`` is zero.
    found : int
        Vocabulary entries initialised from the file.
    """
    vectors: dict[int, np.ndarray] = {}
    dim = None
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line_no, line in enumerate(handle, start=1):
            parts = line.rstrip().split(" ")
            if line_no == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # word2vec header
            if len(parts) < 2:
                continue
            try:
                values = np.asarray(parts[1:], dtype=np.float32)
            except ValueError:
                raise ValueError(
                    f"{os.fspath(path)}, line {line_no}: not a word followed by numbers."
                ) from None
            dim = dim or len(values)
            if len(values) != dim:
                raise ValueError(
                    f"{os.fspath(path)}, line {line_no}: vector of size {len(values)}, "
                    f"but the first vector has size {dim}."
                )
            word = parts[0]
            for key in (word, word.lower()):
                token_id = vocab.get(key)
                if token_id is not None and token_id not in vectors:
                    vectors[token_id] = values
                    break
    if dim is None:
        raise ValueError(f"{os.fspath(path)} holds no word vectors.")
    found = np.stack(list(vectors.values())) if vectors else np.zeros((1, dim), np.float32)
    std = float(found.std()) or 0.1
    matrix = rng.normal(float(found.mean()), std, size=(n_rows, dim))
    matrix = matrix.astype(np.float32)
    for token_id, values in vectors.items():
        matrix[token_id] = values
    matrix[pad] = 0.0
    return matrix, len(vectors)


def starting_vectors(
    spec: str | os.PathLike,
    sequences: Sequence[np.ndarray],
    vocab: Mapping[str, int],
    n_rows: int,
    pad: int,
    dim: int,
    rng: np.random.Generator,
    owner: str = "the classifier",
) -> tuple[np.ndarray, float]:
    """The starting embedding matrix that ``pretrained_embeddings=spec`` of ``owner`` names.

    ``"ppmi"`` learns it from ``sequences`` (:func:`ppmi_svd_vectors`); anything else is
    the path of a word-vector file, whose vectors must have ``dim`` numbers. Returns the
    matrix and the share of the vocabulary it found vectors for.
    """
    if spec == "ppmi":
        matrix, found = ppmi_svd_vectors(sequences, n_rows, dim, rng, skip=[pad])
        return matrix, found / n_rows
    if not os.path.isfile(spec):
        raise FileNotFoundError(
            f"The 'pretrained_embeddings' parameter of {owner} names {os.fspath(spec)!r}, "
            f"which is not a file; give the path of a word2vec or GloVe text file, 'ppmi' "
            f"or None."
        )
    matrix, found = read_word_vectors(spec, vocab, n_rows, pad, rng)
    if matrix.shape[1] != dim:
        raise ValueError(
            f"The vectors in pretrained_embeddings have {matrix.shape[1]} dimensions but "
            f"embedding_dim is {dim}; set embedding_dim={matrix.shape[1]}."
        )
    return matrix, found / matrix.shape[0]
