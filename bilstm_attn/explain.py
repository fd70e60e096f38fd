"""Which words a prediction rested on.

Attention weights are the pooling distribution of the classifier over its pieces, summed
onto the words of the original text. They show where the model looked; they are not by
themselves a faithful attribution of the prediction (Jain & Wallace, 2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bilstm_attn._validation import check_texts
from bilstm_attn.classifier import BiLSTMAttentionClassifier
from bilstm_attn.text import encode_with_offsets, piece_word_index, word_spans

__all__ = ["WordWeights", "attention_by_word"]


@dataclass
class WordWeights:
    """Per-word weights of one text.

    Attributes
    ----------
    text : str
        The text as given.
    words : list of str
        Its whitespace-separated words, verbatim.
    weights : ndarray of shape (n_words,)
        The mean over heads of the attention on each word's pieces; sums to 1 when the
        text has any piece the model saw (pieces past ``max_length`` get 0).
    head_weights : ndarray of shape (attention_heads, n_words)
        The same for each head.
    """

    text: str
    words: list[str]
    weights: np.ndarray
    head_weights: np.ndarray


def attention_by_word(clf: BiLSTMAttentionClassifier, X) -> list[WordWeights]:
    """The fitted classifier's pooling attention, summed from pieces onto words."""
    texts = check_texts(X, "X")
    piece_weights = clf.attention_weights(texts)
    encoded = encode_with_offsets(clf.tokenizer_, texts, clf.max_length)
    result = []
    for text, heads, (_, offsets) in zip(texts, piece_weights, encoded):
        spans = word_spans(text)
        index = piece_word_index(offsets, spans)
        per_head = np.stack([np.bincount(index, head, len(spans)) for head in heads])
        words = [text[start:end] for start, end in spans]
        result.append(WordWeights(text, words, per_head.mean(axis=0), per_head))
    return result
