"""Word vectors learned from the training texts (PPMI + SVD)."""

import numpy as np
import pytest

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn._base import draw_seed
from bilstm_attn.text import build_tokenizer, encode, pad_id, vocab_size
from bilstm_attn.word_vectors import (
    cooccurrence_counts,
    ppmi,
    ppmi_svd_vectors,
    read_word_vectors,
)


def test_cooccurrence_counts_weigh_by_distance_and_stay_inside_each_text():
    counts = cooccurrence_counts([np.array([1, 2, 3]), np.array([4])], 5, window=2).toarray()
    expected = np.zeros((5, 5))
    for a, b, weight in [(1, 2, 1.0), (2, 3, 1.0), (1, 3, 0.5)]:
        expected[a, b] = expected[b, a] = weight
    np.testing.assert_allclose(counts, expected)  # 4 is alone in its text: no pairs


def test_ppmi_matches_its_definition():
    rng = np.random.default_rng(0)
    dense = rng.integers(0, 4, size=(6, 6)).astype(float)
    dense = dense + dense.T
    from scipy.sparse import csr_matrix

    got = ppmi(csr_matrix(dense), alpha=0.75).toarray()
    contexts = dense.sum(0) ** 0.75
    with np.errstate(divide="ignore"):
        pmi = np.log(dense * contexts.sum() / (dense.sum(1)[:, None] * contexts[None, :]))
    np.testing.assert_allclose(got, np.where(dense > 0, np.maximum(pmi, 0), 0), atol=1e-12)


def two_topic_corpus(n_texts=400, seed=0):
    """Texts drawn from one of two disjoint vocabularies: ids 2-9 or ids 10-17."""
    rng = np.random.default_rng(seed)
    return [rng.integers(2, 10, size=12) if i % 2 else rng.integers(10, 18, size=12)
            for i in range(n_texts)]  # fmt: skip


def test_words_that_share_contexts_get_similar_vectors():
    vectors, found = ppmi_svd_vectors(two_topic_corpus(), 20, 4, np.random.default_rng(0), skip=[0])
    assert vectors.shape == (20, 4) and vectors.dtype == np.float32
    assert found == 16  # ids 2-17 co-occur; 0 is skipped, 1, 18 and 19 never occur
    assert np.all(vectors[0] == 0)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    same = unit[2:10] @ unit[2:10].T
    across = unit[2:10] @ unit[10:18].T
    assert same.mean() > across.mean() + 0.5
    np.testing.assert_allclose(np.linalg.norm(vectors[2:18], axis=1), 2.0, rtol=1e-5)


def test_vectors_are_reproducible():
    first, _ = ppmi_svd_vectors(two_topic_corpus(), 20, 4, np.random.default_rng(3))
    again, _ = ppmi_svd_vectors(two_topic_corpus(), 20, 4, np.random.default_rng(3))
    np.testing.assert_array_equal(first, again)


@pytest.fixture(scope="module")
def ppmi_model(reviews, tiny_params):
    train, _ = reviews
    params = {**tiny_params, "pretrained_embeddings": "ppmi", "max_epochs": 2}
    return BiLSTMAttentionClassifier(**params).fit(train["text"], train["label"])


def test_classifier_starts_from_ppmi_vectors(ppmi_model, reviews, tiny_params):
    train, _ = reviews
    assert 0.5 < ppmi_model.embedding_coverage_ <= 1.0
    params = {**tiny_params, "pretrained_embeddings": "ppmi", "freeze_embeddings": True}
    frozen = BiLSTMAttentionClassifier(**{**params, "max_epochs": 1})
    frozen.fit(train["text"], train["label"])
    assert not frozen.module_.encoder.embedding.weight.requires_grad
    sequences = encode(frozen.tokenizer_, list(train["text"]), frozen.max_length, "head_tail")
    expected, found = ppmi_svd_vectors(
        sequences,
        vocab_size(frozen.tokenizer_),
        tiny_params["embedding_dim"],
        np.random.default_rng(draw_seed(tiny_params["random_state"])),  # fit's generator
        skip=[pad_id(frozen.tokenizer_)],
    )
    weight = frozen.module_.encoder.embedding.weight.detach().numpy()
    np.testing.assert_array_equal(weight, expected)
    assert frozen.embedding_coverage_ == found / len(weight)


def test_ppmi_model_saves_and_loads_without_learning_again(ppmi_model, reviews, tmp_path):
    _, test = reviews
    loaded = BiLSTMAttentionClassifier.load(ppmi_model.save(tmp_path / "m"))
    np.testing.assert_array_equal(
        loaded.predict_proba(test["text"]), ppmi_model.predict_proba(test["text"])
    )
    assert loaded.embedding_coverage_ == ppmi_model.embedding_coverage_


def test_read_word_vectors(tmp_path):
    tok = build_tokenizer("word", ["good film", "bad film"], min_frequency=1)
    path = tmp_path / "vectors.txt"
    path.write_text("3 2\nGood 1.0 2.0\nfilm 3.0 4.0\nunused 9 9\n", encoding="utf-8")
    vocab, rows = tok.get_vocab(with_added_tokens=True), vocab_size(tok)
    matrix, found = read_word_vectors(path, vocab, rows, pad_id(tok), np.random.default_rng(0))
    assert found == 2 and matrix.shape == (vocab_size(tok), 2)
    assert matrix[tok.token_to_id("good")].tolist() == [1.0, 2.0]  # found after lowercasing
    assert matrix[tok.token_to_id("film")].tolist() == [3.0, 4.0]
    assert np.all(matrix[0] == 0)
    path.write_text("good 1.0 2.0\nfilm 3.0\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match="line 2: vector of size 1, but the first vector has size 2"
    ):
        read_word_vectors(path, vocab, rows, pad_id(tok), np.random.default_rng(0))
