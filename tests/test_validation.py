"""Every bad input gets a clear error naming the parameter, the position and the fix."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from bilstm_attn import BiLSTMAttentionClassifier

X = ["good film", "bad film", "great film", "awful film"]
Y = ["pos", "neg", "pos", "neg"]


@pytest.mark.parametrize(
    ("X_bad", "error", "message"),
    [
        (
            "a single text",
            TypeError,
            r"X must be a list, tuple, .* got a single str\. Wrap it in a list",
        ),
        (b"bytes", TypeError, r"got a single bytes"),
        (["ok", 3, "ok", "ok"], TypeError, r"X\[1\] is int \(3\); every item of X must be a str"),
        (["ok", "ok", None, "ok"], ValueError, r"X\[2\] is missing \(None\).*fillna"),
        (["ok", float("nan"), "ok", "ok"], ValueError, r"X\[1\] is missing \(nan\)"),
        (pd.Series(["ok", pd.NA, "ok", "ok"], dtype="string"), ValueError, r"X\[1\] is missing"),
        (["ok", "ok", "ok", b"raw"], TypeError, r"X\[3\] is bytes.*decode"),
        ([], ValueError, r"X is empty"),
        (
            pd.DataFrame({"a": X, "b": X}),
            ValueError,
            r"DataFrame with 2 columns; pass the one column",
        ),
        (np.array([X, X]), ValueError, r"one-dimensional; got an array of shape \(2, 4\)"),
        (42, TypeError, r"X must be .*; got int"),
    ],
)
def test_bad_texts_in_fit(X_bad, error, message):
    with pytest.raises(error, match=message):
        BiLSTMAttentionClassifier().fit(X_bad, Y)


@pytest.mark.parametrize(
    ("y_bad", "message"),
    [
        (Y[:3], r"X has 4 texts but y has 3 labels"),
        (["pos"] * 4, r"y has a single class \('pos'\); a classifier needs labels of at least 2"),
        (["pos", None, "neg", "neg"], r"y\[1\] is missing \(None\)"),
        ("posneg", r"y must be .* got a single str"),
    ],
)
def test_bad_labels(y_bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        BiLSTMAttentionClassifier().fit(X, y_bad)


def test_unhashable_labels():
    with pytest.raises(TypeError, match=r"y\[0\] is list, which is not hashable"):
        BiLSTMAttentionClassifier().fit(X, [[1], [0], [1], [0]])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"attention": "bahdanau "},
            "The 'attention' parameter of BiLSTMAttentionClassifier must be a str among"
            " {'additive', 'dot', 'general', 'scaled_dot'}. Got 'bahdanau ' instead.",
        ),
        (
            {"rnn": "transformer"},
            "The 'rnn' parameter of BiLSTMAttentionClassifier must be a str among",
        ),
        (
            {"hidden_size": 0},
            "The 'hidden_size' parameter of BiLSTMAttentionClassifier must be an int "
            "in the range [1, inf)",
        ),
        (
            {"dropout": 1.0},
            "The 'dropout' parameter of BiLSTMAttentionClassifier must be a float "
            "in the range [0.0, 1.0)",
        ),
        ({"learning_rate": -1}, "The 'learning_rate' parameter"),
        ({"validation_fraction": 1.5}, "The 'validation_fraction' parameter"),
        ({"max_length": 0}, "The 'max_length' parameter"),
        (
            {"truncation": "middle"},
            "The 'truncation' parameter of BiLSTMAttentionClassifier must be a str among "
            "{'head', 'head_tail', 'tail'}. Got 'middle' instead.",
        ),
        ({"attention_size": 0}, "The 'attention_size' parameter"),
        (
            {"average_decay": 1.0},
            "The 'average_decay' parameter of BiLSTMAttentionClassifier must be a float in "
            "the range (0.0, 1.0) or None. Got 1.0 instead.",
        ),
        ({"device": "tpu"}, "The 'device' parameter"),
        ({"batch_size": 2.5}, "The 'batch_size' parameter"),
        ({"class_weight": "even"}, "The 'class_weight' parameter"),
        (
            {"tokenizer": "wrod"},
            "The 'tokenizer' parameter of BiLSTMAttentionClassifier must be one of 'auto', 'bpe', "
            "'unigram', 'word', 'wordpiece', a tokenizers.Tokenizer, or the path of a "
            "tokenizer.json file. Got 'wrod' instead (no such file).",
        ),
        ({"tokenizer": 3}, "The 'tokenizer' parameter"),
        (
            {"pretrained_embeddings": "/no/such/vectors.txt"},
            "The 'pretrained_embeddings' parameter of "
            "BiLSTMAttentionClassifier names '/no/such/vectors.txt'",
        ),
        (
            {"class_weight": {"maybe": 2.0}},
            "class_weight has keys ['maybe'] that are not classes in y",
        ),
        ({"validation_fraction": 0.9}, "validation_fraction=0.9 leaves no text to train on"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises((ValueError, TypeError, FileNotFoundError), match=re.escape(message)):
        BiLSTMAttentionClassifier(**params, max_epochs=1).fit(X, Y)


def test_cuda_asked_for_where_there_is_none(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ValueError, match=r"'device' parameter .* is 'cuda', but no CUDA device"):
        BiLSTMAttentionClassifier(device="cuda").fit(X, Y)


def test_bad_sample_weight():
    with pytest.raises(ValueError, match=r"sample_weight has shape \(3,\); expected \(4,\)"):
        BiLSTMAttentionClassifier().fit(X, Y, sample_weight=[1, 1, 1])
    with pytest.raises(ValueError, match="non-negative"):
        BiLSTMAttentionClassifier().fit(X, Y, sample_weight=[1, -1, 1, 1])


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "transform", "attention_weights", "score"]
)
def test_not_fitted(method):
    args = (X, Y) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(BiLSTMAttentionClassifier(), method)(*args)


@pytest.mark.parametrize(
    ("X_bad", "message"),
    [
        ("one text", r"Wrap it in a list"),
        ([1.5], r"X\[0\] is float"),
        ([], r"X is empty"),
    ],
)
def test_bad_texts_in_predict(fitted, X_bad, message):
    with pytest.raises((TypeError, ValueError), match=message):
        fitted.predict(X_bad)


def test_warm_start_with_new_labels(tiny_params):
    clf = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 1}, warm_start=True).fit(X, Y)
    with pytest.raises(
        ValueError, match=r"y has labels \['meh'\] that the fitted model does not know"
    ):
        clf.fit(X, ["pos", "neg", "meh", "neg"])


def test_zero_weight_everywhere(tiny_params):
    with pytest.raises(ValueError, match="leave every training text with weight 0"):
        BiLSTMAttentionClassifier(**tiny_params, class_weight={"pos": 0, "neg": 0}).fit(X, Y)


def test_a_failed_fit_leaves_no_half_fitted_model(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("good 1 2 3\n", encoding="utf-8")
    clf = BiLSTMAttentionClassifier(pretrained_embeddings=vectors, embedding_dim=5)
    with pytest.raises(ValueError, match="set embedding_dim=3"):
        clf.fit(X, Y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


# ---------------------------------------------------------------- what the fuzzer found
@pytest.mark.parametrize("text", ["\ud800", "ok \udfff ok"])
def test_a_surrogate_code_point_is_named_before_the_tokenizer_sees_it(fitted, text):
    with pytest.raises(ValueError, match=r"X\[1\] holds the surrogate code point U\+D[8F]"):
        fitted.predict_proba(["fine", text])
    with pytest.raises(ValueError, match=r"X\[0\] holds the surrogate code point"):
        BiLSTMAttentionClassifier().fit([text, "b"], [0, 1])


@pytest.mark.parametrize("labels", [[1, True], [1.0, 1], [False, 0.0]])
def test_labels_equal_in_python_but_of_other_types_are_not_merged(labels):
    with pytest.raises(ValueError, match="which Python counts as one label"):
        BiLSTMAttentionClassifier().fit(X, labels * 2)


def test_labels_keep_their_types(tiny_params):
    texts = ["good film", "bad film", "great acting", "awful acting"] * 2
    clf = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 1})
    for labels in ([True, 2], [2**70 + 1, 0.5], [b"\x84", "a"]):
        clf.fit(texts, labels * 4)
        assert sorted(map(repr, clf.classes_.tolist())) == sorted(map(repr, labels))


@pytest.mark.parametrize("weight", ["x", -1, float("nan"), True, None])
def test_a_class_weight_that_is_not_a_weight(weight):
    with pytest.raises(ValueError, match=r"class_weight\['pos'\] is .*finite non-negative"):
        BiLSTMAttentionClassifier(class_weight={"pos": weight}).fit(X, Y)


@pytest.mark.parametrize("name", ["attention_heads", "hidden_size", "max_epochs", "dropout"])
def test_a_bool_is_not_a_number_parameter(name):
    with pytest.raises(ValueError, match=f"The '{name}' parameter of .* Got True instead"):
        BiLSTMAttentionClassifier(**{name: True}).fit(X, Y)


@pytest.mark.parametrize("name", ["hidden_size", "embedding_dim", "attention_heads"])
def test_a_network_too_large_is_refused_before_it_is_allocated(name):
    clf = BiLSTMAttentionClassifier(min_frequency=1, **{name: 10**9})
    with pytest.raises(ValueError, match=r"describe a network .*lower hidden_size"):
        clf.fit(X, Y)
    assert not hasattr(clf, "module_")
    with pytest.raises(ValueError, match=r"The 'num_layers' parameter .* range \[1, 100\]"):
        BiLSTMAttentionClassifier(num_layers=101).fit(X, Y)


def test_a_checkpoint_dir_with_a_nul_character():
    with pytest.raises(ValueError, match="checkpoint_dir='a\\\\x00b' holds a NUL character"):
        BiLSTMAttentionClassifier(checkpoint_dir="a\x00b").fit(X, Y)


def test_a_vocabulary_load_would_refuse_is_refused_by_fit(monkeypatch):
    import bilstm_attn._estimator

    monkeypatch.setattr(bilstm_attn._estimator, "MAX_VOCABULARY", 3)
    with pytest.raises(ValueError, match=r"tokenizer has [0-9,]+ pieces, more than the 3"):
        BiLSTMAttentionClassifier(min_frequency=1).fit(X, Y)
