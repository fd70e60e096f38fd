"""Explanations on the classifier's public surface: encoded texts, probabilities of id
sequences, variants in bounded chunks, the same results from concurrent threads, and
the top-k counts of faithfulness exact at every length."""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import bilstm_attn._classifier_inference as inference
import bilstm_attn.explain as explain_module
from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.explain import METHODS, probabilities_of_variants
from bilstm_attn.faithfulness import _top_count, faithfulness, top_overlap


@pytest.fixture(scope="module")
def texts(reviews):
    return list(reviews[1]["text"][:10])


# ------------------------------------------------------------------ the public surface
def test_encode_gives_the_ids_each_pieces_word_and_the_words(fitted):
    (e,) = fitted.encode(["A  wonderful,   film"])
    assert e.words == ["A", "wonderful,", "film"]
    assert e.ids.dtype == np.int64 and e.ids.shape == e.word_index.shape
    assert set(e.word_index.tolist()) <= {0, 1, 2} and np.all(np.diff(e.word_index) >= 0)


def test_probabilities_of_encoded_texts_are_those_of_the_texts(fitted, texts, across_layouts):
    ids = [e.ids for e in fitted.encode(texts)]
    proba = fitted.predict_proba_ids(ids)
    np.testing.assert_allclose(proba, fitted.predict_proba(texts), rtol=0, atol=across_layouts)
    reading = fitted.proba_and_attention(ids)
    np.testing.assert_array_equal(reading.proba, proba)  # one batch layout: the same sums
    for weights, sequence in zip(reading.attention, ids):
        assert weights.shape == (1, len(sequence))
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert fitted.predict_proba_ids([]).shape == (0, 2)


@pytest.mark.parametrize(
    "sequences, error, match",
    [
        ("a film", TypeError, "sequences must be a list of 1-D integer arrays; got str"),
        (np.zeros((2, 3), dtype=int), TypeError, "got ndarray"),
        ([np.array([1, 2]), np.array([[1]])], ValueError, r"sequences\[1\] must be a 1-D array"),
        ([np.array([0.5])], ValueError, r"sequences\[0\] must be a 1-D array of integer ids"),
        ([np.array([-1])], ValueError, r"sequences\[0\] holds ids outside the vocabulary"),
        ([np.array([10**9])], ValueError, "outside the vocabulary"),
    ],
)
def test_bad_id_sequences_are_named(fitted, sequences, error, match):
    with pytest.raises(error, match=match):
        fitted.predict_proba_ids(sequences)


def test_attention_encodes_each_text_once_and_runs_the_network_once(fitted, texts, monkeypatch):
    calls = {"encode": 0, "forward": 0}
    real = inference.encode_with_offsets

    def counting(*args, **kwargs):
        calls["encode"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(inference, "encode_with_offsets", counting)
    monkeypatch.setattr(inference, "encode", None)  # the other encoding paths: not taken
    monkeypatch.setattr(inference, "encode_ahead", None)
    hook = fitted.module_.register_forward_pre_hook(
        lambda *_: calls.__setitem__("forward", calls["forward"] + 1)
    )
    try:
        fitted.explain(texts, method="attention")
    finally:
        hook.remove()
    assert calls == {"encode": 1, "forward": 1}  # ten short texts: one batch


# ------------------------------------------------------------------ bounded memory
def test_variants_are_scored_in_bounded_chunks_in_order(fitted, texts, monkeypatch):
    sequences = [e.ids for e in fitted.encode(texts)]
    whole = fitted.predict_proba_ids(sequences)
    sizes = []
    real = fitted.predict_proba_ids

    def recording(chunk):
        sizes.append(sum(len(ids) + 1 for ids in chunk))
        return real(chunk)

    monkeypatch.setattr(explain_module, "CHUNK_PIECES", 60)
    monkeypatch.setattr(fitted, "predict_proba_ids", recording)
    found = list(probabilities_of_variants(fitted, iter(enumerate(sequences))))
    assert [key for key, _ in found] == list(range(len(sequences)))
    longest = max(len(ids) + 1 for ids in sequences)
    assert len(sizes) > 1 and max(sizes) < 60 + longest
    np.testing.assert_allclose(np.stack([p for _, p in found]), whole, rtol=0, atol=1e-5)


# ------------------------------------------------------------------ threads
def _weights(explanations):
    return [(e.weights, e.proba, e.delta, e.head_weights) for e in explanations]


@pytest.mark.parametrize("method", METHODS)
def test_concurrent_explanations_equal_the_ones_alone(fitted, texts, method):
    """4 threads x 4 calls. Each call is the same computation as the one alone (the
    same batches, one intra-op thread each), so the results are equal exactly."""
    alone = _weights(fitted.explain(texts, method=method, n_steps=16))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(lambda: _weights(fitted.explain(texts, method=method, n_steps=16)))
            for _ in range(16)
        ]
        results = [future.result() for future in futures]
    for result in results:
        for (w, p, d, h), (w0, p0, d0, h0) in zip(result, alone):
            np.testing.assert_array_equal(w, w0)
            assert p == p0 and d == d0
            if h0 is not None:
                np.testing.assert_array_equal(h, h0)


def test_concurrent_faithfulness_equals_the_one_alone(fitted, texts):
    def run():
        return faithfulness(fitted, texts[:6], fractions=(0.1, 0.5), n_steps=8)

    alone = run()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [f.result() for f in [pool.submit(run) for _ in range(8)]]
    for result in results:
        assert result.per_document.equals(alone.per_document)
        assert result.agreement.equals(alone.agreement)


# ------------------------------------------------------------------ exact top-k
# ceil(5 / n * n) is 6 in floating point for these lengths up to 800: the old top-k.
ROUNDING_UP = [n for n in range(5, 801) if math.ceil(5 / n * n) > 5]


@pytest.mark.parametrize("n", range(1, 801))
def test_top5_overlap_is_at_most_one_at_every_length(n):
    rng = np.random.default_rng(n)
    a, b = rng.random(n), rng.random(n)
    assert 0 <= top_overlap(a, b) <= 1
    assert top_overlap(a, a) == 1.0


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.1, 0.2, 0.5])
def test_top_count_is_the_exact_ceiling(fraction):
    for n in range(1, 801):
        exact = -(-round(fraction * 100) * n // 100)  # ceil(f * n) in integers
        assert _top_count(fraction, n) == max(1, exact)


def test_faithfulness_at_real_lengths(tiny_params, reviews):
    """Texts of lengths where the old count rounded up: every overlap at most 1, and
    the top 1% of n words is ceil(n / 100) of them."""
    train, _ = reviews
    clf = BiLSTMAttentionClassifier(**{**tiny_params, "max_length": None})
    clf.fit(train["text"][:200], train["label"][:200])
    words = " ".join(train["text"][:200]).split()
    lengths = ROUNDING_UP[:4] + [1, 3, 30]
    long_texts = [" ".join(words[i : i + n]) for i, n in enumerate(lengths)]
    result = faithfulness(clf, long_texts, methods=("attention", "occlusion"), n_steps=4)
    assert result.agreement["top5_overlap"].between(0, 1).all()
    assert (result.agreement["top5_overlap"] * np.minimum(5, lengths)).round(9).mod(1).eq(0).all()
