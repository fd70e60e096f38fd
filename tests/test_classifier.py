import io
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils.class_weight import compute_sample_weight

from bilstm_attn import BiLSTMAttentionClassifier, TrainingInterruptedWarning
from bilstm_attn.text import build_tokenizer

SENTIMENT = [
    "a wonderful film",
    "an awful film",
    "wonderful acting",
    "awful acting",
    "truly wonderful",
    "truly awful",
] * 6
SENTIMENT_Y = ["pos", "neg"] * 18


def test_learns_the_bundled_corpus(fitted, reviews):
    _, test = reviews
    assert fitted.score(test["text"], test["label"]) > 0.9
    assert list(fitted.classes_) == ["negative", "positive"]


def test_predict_proba_rows_sum_to_one_and_follow_classes(fitted, reviews):
    _, test = reviews
    proba = fitted.predict_proba(test["text"])
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_array_equal(fitted.predict(test["text"]), fitted.classes_[proba.argmax(1)])


def test_transform_and_attention_weights(fitted, reviews):
    _, test = reviews
    texts = list(test["text"][:5]) + [""]
    vectors = fitted.transform(texts)
    assert vectors.shape == (6, 2 * fitted.hidden_size)
    weights = fitted.attention_weights(texts)
    assert [w.shape[0] for w in weights] == [1] * 6
    np.testing.assert_allclose([w.sum() for w in weights[:5]], 1.0, atol=1e-5)
    assert weights[5].shape == (1, 0)


@pytest.mark.parametrize(
    ("labels", "kind"),
    [
        ([1, 0] * 18, "i"),
        ([True, False] * 18, "b"),
        (["pos", "neg"] * 18, "O"),
        ([2.5, -1.0] * 18, "f"),
    ],
)
def test_predictions_have_the_labels_type(tiny_params, labels, kind):
    clf = BiLSTMAttentionClassifier(**tiny_params).fit(SENTIMENT, labels)
    predicted = clf.predict(SENTIMENT[:4])
    assert predicted.dtype.kind == kind
    assert set(predicted.tolist()) <= set(labels)


def test_multiclass(tiny_params):
    X = ["red apple", "green leaf", "blue sky", "red rose", "green grass", "blue sea"] * 8
    y = ["red", "green", "blue"] * 16
    clf = BiLSTMAttentionClassifier(
        **{**tiny_params, "max_epochs": 15}, validation_fraction=None
    ).fit(X, y)
    assert clf.predict_proba(X).shape == (48, 3)
    assert clf.score(X, y) == 1.0


def test_same_random_state_same_model_and_global_rng_untouched(tiny_params, reviews):
    train, test = reviews
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = BiLSTMAttentionClassifier(**tiny_params).fit(train["text"][:200], train["label"][:200])
    assert torch.equal(torch.get_rng_state(), before)
    b = BiLSTMAttentionClassifier(**tiny_params).fit(train["text"][:200], train["label"][:200])
    c = BiLSTMAttentionClassifier(**{**tiny_params, "random_state": 1}).fit(
        train["text"][:200], train["label"][:200]
    )
    pa, pb, pc = (m.predict_proba(test["text"]) for m in (a, b, c))
    np.testing.assert_array_equal(pa, pb)
    assert not np.allclose(pa, pc)


def test_every_input_container_gives_the_same_predictions(fitted, reviews):
    texts = list(reviews[1]["text"][:10])
    expected = fitted.predict_proba(texts)
    containers = [
        tuple(texts),
        np.array(texts),
        np.array(texts, dtype=object),
        pd.Series(texts),
        pd.Series(texts, dtype="string"),
        pd.DataFrame({"review": texts}),  # its values, not its column name
        np.array(texts)[:, None],
    ]
    for container in containers:
        np.testing.assert_array_equal(fitted.predict_proba(container), expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\t",
        "😀🎬🍿",
        "ctrl\x00\x07\x1b[31m chars",
        "a" * 200_000,
        "word " * 40_000,
        "<script>alert(1)</script>",
        "정말 재미있어요",
    ],
    ids=[
        "empty",
        "spaces",
        "newline-tab",
        "emoji",
        "control",
        "200k-chars",
        "40k-words",
        "markup",
        "korean",
    ],
)
def test_odd_texts_predict_without_error(fitted, text):
    proba = fitted.predict_proba([text, "a normal review"])
    assert proba.shape == (2, 2) and np.all(np.isfinite(proba))


def test_empty_texts_in_training(tiny_params):
    X = SENTIMENT + ["", "   "]
    clf = BiLSTMAttentionClassifier(**tiny_params).fit(X, SENTIMENT_Y + ["pos", "neg"])
    assert clf.predict(["", "wonderful"]).shape == (2,)


def test_korean_texts(tiny_params):
    X = ["정말 재미있어요", "너무 지루해요", "최고의 영화 재미있어요", "지루하고 별로예요"] * 8
    y = [1, 0, 1, 0] * 8
    for kind in ("word", "unigram"):
        clf = BiLSTMAttentionClassifier(
            **{**tiny_params, "max_epochs": 20, "tokenizer": kind}, validation_fraction=None
        ).fit(X, y)
        assert clf.score(X, y) == 1.0


@pytest.mark.parametrize("kind", ["word", "bpe", "wordpiece", "unigram"])
def test_tokenizer_kinds(tiny_params, kind):
    clf = BiLSTMAttentionClassifier(**{**tiny_params, "tokenizer": kind, "vocab_size": 200})
    clf.fit(SENTIMENT, SENTIMENT_Y)
    assert clf.tokenizer_.get_vocab_size() <= 200
    assert clf.predict(["wonderful"]).shape == (1,)


def test_auto_tokenizer_turns_to_wordpiece_when_many_words_are_unknown(tiny_params, capsys):
    params = {**tiny_params, "tokenizer": "auto", "min_frequency": 2, "verbose": 1}
    clf = BiLSTMAttentionClassifier(**params).fit(SENTIMENT, SENTIMENT_Y)
    assert type(clf.tokenizer_.model).__name__ == "WordLevel"
    assert "using 'word'" in capsys.readouterr().out
    # Korean-like: a stem with a different ending each time, each word seen once.
    endings = ["이", "가", "을", "를", "은", "는", "도", "와", "과", "로", "에", "의"]
    X = [f"{stem}{end} 좋아요" for stem in ("영화", "배우", "감독") for end in endings]
    y = [0, 1] * (len(X) // 2)
    clf = BiLSTMAttentionClassifier(**params).fit(X, y)
    assert type(clf.tokenizer_.model).__name__ == "WordPiece"
    out = capsys.readouterr().out
    assert "using 'wordpiece'" in out and "of words are [UNK]" in out


def test_unknown_share():
    from bilstm_attn.text import unknown_share

    tok = build_tokenizer("word", ["a b", "a c"], vocab_size=100, min_frequency=2)
    unk = tok.token_to_id("[UNK]")
    a = tok.token_to_id("a")
    assert unknown_share(tok, [np.array([a, unk]), np.array([unk, unk])]) == 0.75
    assert unknown_share(tok, [np.array([], dtype=np.int64)]) == 0.0


def test_ready_tokenizer_and_path(tiny_params, tmp_path):
    tok = build_tokenizer("wordpiece", SENTIMENT, vocab_size=100, min_frequency=1)
    tok.enable_padding(length=50)
    before = tok.to_str()
    clf = BiLSTMAttentionClassifier(**{**tiny_params, "tokenizer": tok}).fit(SENTIMENT, SENTIMENT_Y)
    assert tok.to_str() == before and clf.tokenizer_ is not tok
    assert clf.tokenizer_.padding is None
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    clf = BiLSTMAttentionClassifier(**{**tiny_params, "tokenizer": str(path)}).fit(
        SENTIMENT, SENTIMENT_Y
    )
    assert clf.tokenizer_.get_vocab() == tok.get_vocab()


def test_pretrained_embeddings(tiny_params, tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text(
        "wonderful " + " ".join(["0.5"] * 16) + "\nawful " + " ".join(["-0.5"] * 16) + "\n"
    )
    clf = BiLSTMAttentionClassifier(
        **tiny_params, pretrained_embeddings=path, freeze_embeddings=True
    )
    clf.fit(SENTIMENT, SENTIMENT_Y)
    weight = clf.module_.encoder.embedding.weight
    assert torch.all(weight[clf.tokenizer_.token_to_id("wonderful")] == 0.5)
    assert not weight.requires_grad
    assert 0 < clf.embedding_coverage_ < 1
    with pytest.raises(
        ValueError, match="have 16 dimensions but embedding_dim is 8; set embedding_dim=16"
    ):
        BiLSTMAttentionClassifier(
            **{**tiny_params, "embedding_dim": 8}, pretrained_embeddings=path
        ).fit(SENTIMENT, SENTIMENT_Y)


@pytest.mark.parametrize("how", ["sample_weight", "class_weight"])
def test_zero_weight_on_a_class_means_it_is_never_learnt(tiny_params, how):
    X = SENTIMENT
    weights = {"sample_weight": [1.0 if label == "pos" else 0.0 for label in SENTIMENT_Y]}
    params = {**tiny_params, "max_epochs": 5}
    if how == "class_weight":
        params["class_weight"], weights = {"neg": 0.0}, {}
    clf = BiLSTMAttentionClassifier(**params, validation_fraction=None).fit(
        X, SENTIMENT_Y, **weights
    )
    assert set(clf.predict(X)) == {"pos"}


def test_balanced_class_weight_is_fitting_with_the_balanced_sample_weights(tiny_params):
    y = (["pos"] * 5 + ["neg"]) * 6  # 30 against 6
    balanced = BiLSTMAttentionClassifier(**tiny_params, class_weight="balanced").fit(SENTIMENT, y)
    weights = compute_sample_weight("balanced", y)  # scikit-learn's n / (k * count)
    weighted = BiLSTMAttentionClassifier(**tiny_params).fit(SENTIMENT, y, sample_weight=weights)
    plain = BiLSTMAttentionClassifier(**tiny_params).fit(SENTIMENT, y)
    proba = balanced.predict_proba(SENTIMENT)
    np.testing.assert_allclose(proba, weighted.predict_proba(SENTIMENT), rtol=0, atol=1e-6)
    assert np.abs(proba - plain.predict_proba(SENTIMENT)).max() > 1e-3  # the weights count


def test_warm_start_continues_training(tiny_params):
    clf = BiLSTMAttentionClassifier(
        **{**tiny_params, "max_epochs": 2}, warm_start=True, n_iter_no_change=None
    )
    clf.fit(SENTIMENT, SENTIMENT_Y)
    tokenizer, module = clf.tokenizer_, clf.module_
    clf.fit(SENTIMENT, SENTIMENT_Y)
    assert clf.tokenizer_ is tokenizer and clf.module_ is module
    assert [r["epoch"] for r in clf.history_] == [1, 2, 3, 4]
    cold = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 2}, n_iter_no_change=None)
    cold.fit(SENTIMENT, SENTIMENT_Y)
    tokenizer = cold.tokenizer_
    cold.fit(SENTIMENT, SENTIMENT_Y)
    assert cold.tokenizer_ is not tokenizer and len(cold.history_) == 2


def test_history_and_early_stopping(tiny_params, reviews):
    train, _ = reviews
    X, y = train["text"][:200], train["label"][:200]
    params = {**tiny_params, "max_epochs": 40}
    clf = BiLSTMAttentionClassifier(**params, n_iter_no_change=1).fit(X, y)
    history = clf.history_
    assert set(history[0]) == {
        "epoch",
        "precision",
        "train_loss",
        "valid_loss",
        "valid_accuracy",
        "seconds",
    }
    accuracies = [r["valid_accuracy"] for r in history]
    assert clf.best_epoch_ == int(np.argmax(accuracies)) + 1  # the first of the best
    # patience 1: it stopped at the first epoch after the best that did not improve on it
    assert len(history) == clf.best_epoch_ + 1 < 40
    assert accuracies[-1] <= accuracies[clf.best_epoch_ - 1]
    # the weights kept are the best epoch's: a fit that ends there has the same weights
    ends_there = BiLSTMAttentionClassifier(**{**params, "max_epochs": clf.best_epoch_})
    ends_there.fit(X, y)
    for name, tensor in clf.module_.state_dict().items():
        assert torch.equal(tensor, ends_there.module_.state_dict()[name]), name


def test_averaged_weights_leave_training_alone_and_are_what_predicts(tiny_params):
    params = {**tiny_params, "validation_fraction": None, "n_iter_no_change": None}
    plain = BiLSTMAttentionClassifier(**params, average_decay=None).fit(SENTIMENT, SENTIMENT_Y)
    averaged = BiLSTMAttentionClassifier(**params, average_decay=0.9).fit(SENTIMENT, SENTIMENT_Y)
    # The same steps from the same start: the training losses match epoch by epoch.
    assert [r["train_loss"] for r in averaged.history_] == [r["train_loss"] for r in plain.history_]
    # The fitted model is the average, not the last step.
    assert not np.allclose(averaged.predict_proba(SENTIMENT), plain.predict_proba(SENTIMENT))


@pytest.mark.parametrize(
    ("truncation", "cut"),
    [("head", slice(8, None)), ("tail", slice(0, 4)), ("head_tail", slice(2, 6))],
)
def test_the_words_truncation_cuts_do_not_change_the_prediction(
    tiny_params, truncation, cut, across_layouts
):
    clf = BiLSTMAttentionClassifier(
        **{**tiny_params, "max_epochs": 2}, max_length=8, truncation=truncation
    ).fit(SENTIMENT, SENTIMENT_Y)
    words = "wonderful awful truly acting film a an wonderful awful truly acting film".split()
    edited = list(words)  # 12 words, 8 read: rewrite only the 4 that are cut
    edited[cut] = ["awful", "wonderful", "awful", "truly"]
    assert len(edited) == len(words)
    read = [i for i in range(len(words)) if i not in range(len(words))[cut]]
    changed = list(words)
    changed[read[-1]] = "film" if words[read[-1]] != "film" else "awful"  # one word it reads
    proba = clf.predict_proba([" ".join(words), " ".join(edited), " ".join(changed)])
    np.testing.assert_allclose(proba[0], proba[1], rtol=0, atol=across_layouts)
    assert np.abs(proba[0] - proba[2]).max() > 1e-4  # the model does read the others
    assert clf.attention_weights([" ".join(words)])[0].shape == (1, 8)


def test_verbose_levels(tiny_params, capsys, monkeypatch):
    BiLSTMAttentionClassifier(**tiny_params, verbose=0).fit(SENTIMENT, SENTIMENT_Y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    BiLSTMAttentionClassifier(**tiny_params, verbose=1).fit(SENTIMENT, SENTIMENT_Y)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[-4] == "BiLSTMAttentionClassifier: training in fp32"  # said once
    assert [line[:9] for line in lines[-3:]] == ["epoch   1", "epoch   2", "epoch   3"]
    assert "train_loss" in lines[-3] and "valid_accuracy" in lines[-3]
    assert captured.err == ""  # a log or a pipe: a line per epoch, no progress bar frames

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    BiLSTMAttentionClassifier(**tiny_params, verbose=1).fit(SENTIMENT, SENTIMENT_Y)
    assert "epoch 1" in terminal.getvalue() and "batch" in terminal.getvalue()  # the bar


class InterruptingClassifier(BiLSTMAttentionClassifier):
    """Presses Ctrl-C in the middle of the third epoch."""

    def initialize_optimizer(self):
        optimizer = super().initialize_optimizer()
        step, calls = optimizer.step, []

        def interrupting_step(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2 * self._batches_per_epoch + 1:
                raise KeyboardInterrupt
            return step(*args, **kwargs)

        optimizer.step = interrupting_step
        return optimizer


def test_ctrl_c_keeps_the_best_weights_and_a_usable_model(tiny_params):
    clf = InterruptingClassifier(**{**tiny_params, "max_epochs": 10, "batch_size": 8})
    clf._batches_per_epoch = 4  # 32 training texts (36 less 4 held out) in batches of 8
    with pytest.warns(
        TrainingInterruptedWarning, match="interrupted during epoch 3; keeping the weights of epoch"
    ):
        clf.fit(SENTIMENT, SENTIMENT_Y)
    assert len(clf.history_) == 2 and clf.best_epoch_ in (1, 2)
    assert not clf.module_.training
    assert clf.predict(["wonderful"]).shape == (1,)


def test_many_texts_are_encoded_in_chunks_and_keep_their_order(fitted, reviews, across_layouts):
    """600 texts: chunks of 256 and 344 texts by length, each batched on its own."""
    texts = list(reviews[1]["text"]) * 3
    proba = fitted.predict_proba(texts)
    alone = np.vstack([fitted.predict_proba([text]) for text in texts[:200]])
    np.testing.assert_allclose(proba[:200], alone, rtol=0, atol=across_layouts)
    np.testing.assert_allclose(proba[400:], alone, rtol=0, atol=across_layouts)  # 2nd chunk
    weights = fitted.attention_weights(texts)
    alone_weights = [fitted.attention_weights([text])[0] for text in texts[:200]]
    for a, b, c in zip(weights[:200], weights[400:], alone_weights, strict=True):
        assert a.shape == b.shape == c.shape
        np.testing.assert_allclose(a, c, rtol=0, atol=across_layouts)
        np.testing.assert_allclose(b, c, rtol=0, atol=across_layouts)


def test_predict_proba_from_several_threads(fitted, reviews, across_layouts):
    texts = list(reviews[1]["text"])
    expected = fitted.predict_proba(texts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda chunk: fitted.predict_proba(chunk), [texts] * 8))
    for result in results:
        np.testing.assert_allclose(result, expected, rtol=0, atol=across_layouts)


@pytest.mark.parametrize("attention", ["additive", "dot", "general", "scaled_dot"])
@pytest.mark.parametrize(("rnn", "heads", "layers"), [("lstm", 1, 1), ("gru", 3, 2)])
def test_model_shapes(tiny_params, attention, rnn, heads, layers):
    clf = BiLSTMAttentionClassifier(
        **{**tiny_params, "max_epochs": 1},
        attention=attention,
        rnn=rnn,
        attention_heads=heads,
        num_layers=layers,
    )
    clf.fit(SENTIMENT, SENTIMENT_Y)
    assert clf.transform(["wonderful"]).shape == (1, heads * 2 * 16)
    weights = clf.attention_weights(["truly wonderful acting"])[0]
    assert weights.shape == (heads, 3)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert type(clf.module_.encoder.forward_rnns[0]).__name__ == rnn.upper()


def test_prediction_on_two_cores_equals_one(fitted, reviews, torch_threads, across_layouts):
    """With two torch threads the batches run in two one-thread workers."""
    texts = list(reviews[1]["text"]) * 3  # two chunks, several batches

    def outputs() -> tuple:
        return fitted.predict_proba(texts), fitted.transform(texts), fitted.attention_weights(texts)

    one = outputs()
    with torch_threads(2):
        two = outputs()
        assert torch.get_num_threads() == 2
    np.testing.assert_allclose(two[0], one[0], rtol=0, atol=across_layouts)
    np.testing.assert_allclose(two[1], one[1], rtol=1e-5, atol=across_layouts)  # vectors
    for a, b in zip(two[2], one[2], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=across_layouts)


def test_integrated_gradients_on_two_cores_equal_one(fitted, reviews, torch_threads):
    """With two torch threads the batches of texts run in two one-thread workers."""
    texts = list(reviews[1]["text"][:30])
    one = fitted.explain(texts, "integrated_gradients", n_steps=10)
    with torch_threads(2):
        two = fitted.explain(texts, "integrated_gradients", n_steps=10)
        assert torch.get_num_threads() == 2
    for a, b in zip(one, two, strict=True):
        assert (a.label, a.tokens) == (b.label, b.tokens)
        # A word's score is a sum of float32 gradients times the embedding difference,
        # computed in batches of other shapes: 1e-5 absolute is far above that rounding.
        np.testing.assert_allclose(a.weights, b.weights, rtol=0, atol=1e-5)
        assert a.delta == pytest.approx(b.delta, abs=1e-5)


def test_on_two_cores_the_outputs_are_read_in_the_worker_threads(
    fitted, reviews, torch_threads, monkeypatch
):
    """No tensor operation runs in the waiting thread while the workers hold the cores:
    there it waits for a time slice for its own intra-op threads (4 ms a batch)."""
    texts = list(reviews[1]["text"]) * 3
    waiting = threading.get_ident()
    calls: list[str] = []
    softmax = torch.Tensor.softmax

    def watched(self, *args, **kwargs):
        calls.append("waiting" if threading.get_ident() == waiting else "worker")
        return softmax(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "softmax", watched)
    with torch_threads(2):
        fitted.predict_proba(texts)
    assert len(calls) > 1
    assert set(calls) == {"worker"}


def test_validation_on_two_cores_equals_one(tiny_params, reviews, torch_threads):
    train, _ = reviews
    params = {**tiny_params, "max_epochs": 2}
    one = BiLSTMAttentionClassifier(**params).fit(train["text"], train["label"]).history_
    with torch_threads(2):
        two = BiLSTMAttentionClassifier(**params).fit(train["text"], train["label"]).history_
    for a, b in zip(one, two, strict=True):
        assert a["valid_accuracy"] == b["valid_accuracy"]
        assert a["valid_loss"] == pytest.approx(b["valid_loss"], abs=1e-5)
