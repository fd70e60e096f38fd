"""What a fitted classifier computes: probabilities, pooled vectors, attention, and the
encoded texts that the explanations (:mod:`bilstm_attn.explain`) work on.

:class:`ClassifierInference` is a part of
:class:`~bilstm_attn.classifier.BiLSTMAttentionClassifier`; it needs the fitted
``tokenizer_``, ``module_``, ``classes_`` and the parameters ``max_length`` and
``truncation``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, TypeVar

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from bilstm_attn._validation import check_texts
from bilstm_attn.nn import ClassifierOutput
from bilstm_attn.text import (
    encode,
    encode_ahead,
    encode_with_offsets,
    pad_id,
    piece_word_index,
    word_spans,
)

__all__ = ["ClassifierInference", "EncodedText", "ProbaAndWeights"]

T = TypeVar("T")


class ClassifierInference:
    """Prediction and the encoded-text surface of the classifier (see the module)."""

    def _chunks(self, X) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
        """Validate X and encode it with the fitted tokenizer (cut to ``max_length``),
        chunk by chunk, each chunk encoded while the network runs the one before."""
        check_is_fitted(self)
        texts = check_texts(X, "X")
        return encode_ahead(self.tokenizer_, texts, self.max_length, self.truncation)

    def _each_batch(
        self,
        chunks: Iterable[tuple[np.ndarray, list[np.ndarray]]],
        pick: Callable[[ClassifierOutput, torch.Tensor], T],
        precision: str = "fp32",
    ) -> Iterator[tuple[np.ndarray, T]]:
        """``pick(output, lengths)`` of the network for every batch of the chunks (see
        ``_map_batches``), with the positions of the batch's sequences."""

        def run(ids: torch.Tensor, lengths: torch.Tensor) -> T:
            return pick(self.module_(ids, lengths), lengths)

        return self._map_batches(chunks, run, pad_id(self.tokenizer_), precision)

    def _proba(
        self, chunks: Iterable[tuple[np.ndarray, list[np.ndarray]]], precision: str = "fp32"
    ) -> np.ndarray:
        """Probabilities of the sequences in ``chunks``, in their order."""
        softmax = lambda out, _: out.logits.double().softmax(-1)  # noqa: E731
        proba = self._rows(self._each_batch(chunks, softmax, precision))
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str, or one-column DataFrame

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``. Computed in the ``precision``
            the parameter gives on this machine.
        """
        return self._proba(self._chunks(X), self._prediction_precision())

    def predict(self, X):
        """Predicted labels, of the same type as the labels given to ``fit``."""
        best = self.predict_proba(X).argmax(axis=1)
        return self.classes_[best]

    def transform(self, X):
        """The attention-pooled document vectors.

        Returns
        -------
        ndarray of shape (n_samples, attention_heads * 2 * hidden_size)
        """
        chunks, precision = self._chunks(X), self._prediction_precision()
        return self._rows(self._each_batch(chunks, lambda out, _: out.pooled.float(), precision))

    def explain(self, X, method: str = "attention", *, n_steps: int = 50) -> list:
        """Which words each prediction rested on; see :func:`bilstm_attn.explain.explain`.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str, or one-column DataFrame
        method : {"attention", "integrated_gradients", "occlusion"}, default="attention"
            Attention weights show where the model looked and are not by themselves a
            faithful attribution; integrated gradients and occlusion measure the effect
            of each word on the predicted probability.
        n_steps : int, default=50
            Integration steps of integrated gradients.

        Returns
        -------
        list of Explanation
        """
        check_is_fitted(self)
        from bilstm_attn.explain import explain  # explanations sit above the estimators

        return explain(self, X, method, n_steps=n_steps)

    # ----------------------------------------------------------- encoded texts
    def encode(self, X) -> list[EncodedText]:
        """Each text as the network reads it: its ids, each piece's word, the words.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str, or one-column DataFrame

        Returns
        -------
        list of EncodedText
        """
        check_is_fitted(self)
        texts = check_texts(X, "X")
        encoded = encode_with_offsets(self.tokenizer_, texts, self.max_length, self.truncation)
        found = []
        for text, (ids, offsets) in zip(texts, encoded):
            spans = word_spans(text)
            words = [text[start:end] for start, end in spans]
            found.append(EncodedText(ids, piece_word_index(offsets, spans), words))
        return found

    def predict_proba_ids(self, sequences) -> np.ndarray:
        """Class probabilities of id sequences, each read whole, in float32 whatever
        the ``precision`` (as every explanation computes).

        Parameters
        ----------
        sequences : sequence of 1-D integer arrays
            Ids of the fitted tokenizer, such as :meth:`encode` gives or variants of
            them (pieces left out, as occlusion and ``faithfulness`` make).

        Returns
        -------
        ndarray of shape (len(sequences), n_classes)
        """
        sequences = self._check_ids(sequences)
        if not sequences:
            return np.empty((0, len(self.classes_)))
        return self._proba([(np.arange(len(sequences)), sequences)])

    def proba_and_attention(self, sequences) -> ProbaAndWeights:
        """:meth:`predict_proba_ids` and the pooling attention, from one pass in float32.

        Returns
        -------
        ProbaAndWeights
        """
        sequences = self._check_ids(sequences)

        def pick(out: ClassifierOutput, lengths: torch.Tensor):
            proba = out.logits.double().softmax(-1).cpu().numpy()  # (B, C)
            weights = out.weights.cpu().numpy()  # (B, heads, S)
            rows = enumerate(lengths.tolist())
            return proba, [weights[row, :, :length] for row, length in rows]

        proba = np.empty((len(sequences), len(self.classes_)))
        attention: list = [None] * len(sequences)
        chunks = [(np.arange(len(sequences)), sequences)] if sequences else []
        for positions, (batch_proba, weights) in self._each_batch(chunks, pick):
            proba[positions] = batch_proba / batch_proba.sum(axis=1, keepdims=True)
            for position, row in zip(positions.tolist(), weights):
                attention[position] = row
        return ProbaAndWeights(proba, attention)

    def _check_ids(self, sequences) -> list[np.ndarray]:
        check_is_fitted(self)
        if isinstance(sequences, (str, bytes, np.ndarray)) or not hasattr(sequences, "__len__"):
            raise TypeError(
                f"sequences must be a list of 1-D integer arrays; got {type(sequences).__name__}."
            )
        n_vocab = self.module_.encoder.embedding.num_embeddings
        checked = []
        for i, ids in enumerate(sequences):
            ids = np.asarray(ids)
            if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
                raise ValueError(
                    f"sequences[{i}] must be a 1-D array of integer ids; got shape "
                    f"{ids.shape} of {ids.dtype}."
                )
            checked.append(ids.astype(np.int64, copy=False))
        every = np.concatenate(checked) if checked else np.empty(0, np.int64)
        if every.size and (every.min() < 0 or every.max() >= n_vocab):  # once, not per text
            i = next(i for i, ids in enumerate(checked) if ((ids < 0) | (ids >= n_vocab)).any())
            raise ValueError(
                f"sequences[{i}] holds ids outside the vocabulary (0 to {n_vocab - 1})."
            )
        return checked

    def attention_weights(self, X) -> list[np.ndarray]:
        """The pooling attention over each text's pieces.

        Returns
        -------
        list of ndarray of shape (attention_heads, n_pieces)
            One per text; each head's row sums to 1 (all zeros for a text without pieces).
        """
        check_is_fitted(self)
        texts = check_texts(X, "X")
        sequences = encode(self.tokenizer_, texts, self.max_length, self.truncation)
        return self.proba_and_attention(sequences).attention


class EncodedText(NamedTuple):
    """A text as the classifier reads it (:meth:`BiLSTMAttentionClassifier.encode`).

    Attributes
    ----------
    ids : ndarray of int64, shape (n_pieces,)
        The ids the network reads: the text's pieces, cut to ``max_length``.
    word_index : ndarray of int64, shape (n_pieces,)
        Each piece's word, an index into ``words``.
    words : list of str
        The whitespace-separated words of the text, verbatim (words cut by truncation
        included: no piece points at them).
    """

    ids: np.ndarray
    word_index: np.ndarray
    words: list[str]


class ProbaAndWeights(NamedTuple):
    """What :meth:`BiLSTMAttentionClassifier.proba_and_attention` returns.

    Attributes
    ----------
    proba : ndarray of shape (n_sequences, n_classes)
    attention : list of ndarray of shape (attention_heads, n_pieces)
    """

    proba: np.ndarray
    attention: list[np.ndarray]
