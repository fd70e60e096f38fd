import copy
import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold

from bilstm_attn import Seq2SeqTranslator, TrainingInterruptedWarning
from bilstm_attn.datasets import make_dates
from bilstm_attn.text import build_tokenizer

SRC = ["one two", "two one", "one one", "two two", "one two two", "two one one"] * 8
TGT = ["1 2", "2 1", "1 1", "2 2", "1 2 2", "2 1 1"] * 8
TINY = dict(
    tokenizer="word",
    hidden_size=16,
    embedding_dim=8,
    max_epochs=40,
    batch_size=8,
    validation_fraction=None,
    random_state=0,
)


@pytest.fixture(scope="module")
def dates():
    return make_dates(1500, random_state=0), make_dates(100, random_state=1)


@pytest.fixture(scope="module")
def date_model(dates):
    train, _ = dates
    return Seq2SeqTranslator(
        hidden_size=32,
        embedding_dim=16,
        max_epochs=8,
        random_state=0,
        learning_rate=5e-3,
        precision="fp32",  # what it learns in 8 epochs is the same on every CPU
    ).fit(train["source"], train["target"])


@pytest.fixture(scope="module")
def word_model():
    return Seq2SeqTranslator(**TINY).fit(SRC, TGT)


def test_learns_a_word_mapping(word_model):
    assert word_model.predict(["two one one", "one two"]) == ["2 1 1", "1 2"]
    word_model.set_params(metric="exact")
    assert word_model.score(SRC, TGT) == 1.0
    word_model.set_params(metric="bleu")
    sacrebleu = pytest.importorskip("sacrebleu")
    expected = sacrebleu.corpus_bleu(word_model.predict(SRC), [TGT]).score  # 0: no 4-grams
    assert word_model.score(SRC, TGT) == pytest.approx(expected)
    assert word_model.score(SRC, TGT, metric="exact") == 1.0  # for this call only
    assert word_model.metric == "bleu"
    with pytest.raises(ValueError, match=r"metric must be 'bleu', 'exact' or None\. Got 'rouge'"):
        word_model.score(SRC, TGT, metric="rouge")


def test_learns_dates_at_character_level(date_model, dates):
    _, test = dates
    date_model.set_params(metric="exact")
    assert date_model.score(test["source"], test["target"]) > 0.5
    outputs = date_model.predict(test["source"])
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", o) for o in outputs[:20])


@pytest.mark.parametrize("decoder", ["bahdanau", "luong"])
@pytest.mark.parametrize("attention", ["additive", "dot", "general", "scaled_dot"])
def test_every_decoder_and_score(decoder, attention):
    tr = Seq2SeqTranslator(**{**TINY, "max_epochs": 2}, decoder=decoder, attention=attention)
    tr.fit(SRC, TGT)
    result = tr.translate("one two")
    np.testing.assert_allclose(result.attention.sum(axis=1), 1.0, atol=1e-5)
    assert result.attention.shape == (len(result.tokens), len(result.source_tokens))


def test_translate_result(word_model):
    result = word_model.translate("two one one")
    assert result.text == "2 1 1" and result.source == "two one one"
    assert result.source_tokens == ["▁two", "▁one", "▁one"]
    assert result.tokens == ["▁2", "▁1", "▁1"]
    assert result.attention.shape == (3, 3) and result.score <= 0
    text = result.to_ansi()
    assert "source: 0:▁two" in text and len(text.splitlines()) == 5


def test_plot_draws_a_heatmap(word_model, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = word_model.translate("one two").plot()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["▁one", "▁two"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["▁1", "▁2"]
    path = tmp_path / "attention.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def test_beam_search_in_the_estimator(word_model):
    greedy = word_model.predict(SRC[:6])
    word_model.set_params(beam_size=4)
    try:
        assert word_model.predict(SRC[:6]) == greedy  # a well-trained model agrees
        assert word_model.translate("one one").text == "1 1"
    finally:
        word_model.set_params(beam_size=1)


@pytest.mark.parametrize("kind", ["char", "word", "bpe", "wordpiece", "unigram"])
def test_tokenizer_kinds_restore_the_text(kind):
    src = ["Ein Mann fährt Fahrrad.", "Zwei Hunde, ein Ball!"] * 10
    tgt = ["A man rides a bike.", "Two dogs, one ball!"] * 10
    tr = Seq2SeqTranslator(
        **{**TINY, "tokenizer": kind, "max_epochs": 60, "vocab_size": 60, "hidden_size": 24}
    )
    tr.fit(src, tgt)
    assert tr.predict(src[:2]) == tgt[:2]
    assert tr.score(src, tgt) == pytest.approx(100.0)  # BLEU of perfect output


def test_shared_and_separate_vocabularies():
    shared = Seq2SeqTranslator(**{**TINY, "max_epochs": 1}, share_vocabulary=True).fit(SRC, TGT)
    assert shared.source_tokenizer_ is shared.target_tokenizer_
    assert shared.source_tokenizer_.token_to_id("▁1") is not None
    separate = Seq2SeqTranslator(**{**TINY, "max_epochs": 1}, target_tokenizer="char").fit(SRC, TGT)
    assert separate.source_tokenizer_.token_to_id("▁1") is None
    assert separate.target_tokenizer_.token_to_id("1") is not None


def test_ready_tokenizer_must_have_bos_and_eos():
    plain = build_tokenizer("word", SRC, min_frequency=1)  # no [BOS] / [EOS]
    with pytest.raises(ValueError, match=r"no \[BOS\] token; a tokenizer for generation needs"):
        Seq2SeqTranslator(**TINY, target_tokenizer=plain).fit(SRC, TGT)
    ready = build_tokenizer("word", TGT, min_frequency=1, lowercase=False, generation=True)
    before = ready.to_str()
    tr = Seq2SeqTranslator(**{**TINY, "max_epochs": 1}, target_tokenizer=ready).fit(SRC, TGT)
    assert ready.to_str() == before and tr.target_tokenizer_ is not ready


@pytest.mark.parametrize(
    ("X", "y", "error", "message"),
    [
        (SRC, TGT[:-1], ValueError, r"X has 48 source texts but y has 47 target texts"),
        ("one two", TGT, TypeError, r"X must be .* got a single str\. Wrap it in a list"),
        (SRC, "1 2", TypeError, r"y must be .* got a single str"),
        ([], [], ValueError, r"X is empty"),
        (SRC[:-1] + [None], TGT, ValueError, r"X\[47\] is missing"),
    ],
)
def test_bad_training_input(X, y, error, message):
    with pytest.raises(error, match=message):
        Seq2SeqTranslator(**TINY).fit(X, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"decoder": "transformer"},
            "The 'decoder' parameter of Seq2SeqTranslator must be a str among "
            "{'bahdanau', 'luong'}. Got 'transformer' instead.",
        ),
        ({"beam_size": 0}, "The 'beam_size' parameter of Seq2SeqTranslator must be an int"),
        ({"metric": "rouge"}, "The 'metric' parameter of Seq2SeqTranslator must be a str among"),
        (
            {"tokenizer": "chars"},
            "The 'tokenizer' parameter of Seq2SeqTranslator must be one of 'bpe', "
            "'char', 'unigram', 'word', 'wordpiece'",
        ),
        ({"target_tokenizer": "bytes"}, "The 'target_tokenizer' parameter of Seq2SeqTranslator"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Seq2SeqTranslator(**{**TINY, **params}).fit(SRC, TGT)


def test_unseen_characters_empty_and_long_sources(date_model):
    outputs = date_model.predict(["", "   ", "☃☃ 😀 ∂∂", "x" * 5000, "3 червня 2019"])
    assert len(outputs) == 5 and all(isinstance(o, str) for o in outputs)
    result = date_model.translate("")
    assert result.attention.shape == (len(result.tokens), 0)


def test_predict_before_fit_and_bad_predict_input(word_model):
    with pytest.raises(NotFittedError):
        Seq2SeqTranslator().predict(["one"])
    with pytest.raises(NotFittedError):
        Seq2SeqTranslator().translate("one")
    with pytest.raises(TypeError, match="Wrap it in a list"):
        word_model.predict("one two")
    with pytest.raises(TypeError, match=r"text must be a str; got list\. Use predict"):
        word_model.translate(["one two"])


def test_history_early_stopping_and_determinism(dates):
    train, _ = dates
    params = dict(hidden_size=16, embedding_dim=8, max_epochs=3, random_state=0)
    a = Seq2SeqTranslator(**params).fit(train["source"][:300], train["target"][:300])
    b = Seq2SeqTranslator(**params).fit(train["source"][:300], train["target"][:300])
    assert [r["valid_loss"] for r in a.history_] == [r["valid_loss"] for r in b.history_]
    assert set(a.history_[0]) == {
        "epoch",
        "precision",
        "train_loss",
        "valid_loss",
        "valid_accuracy",
        "seconds",
    }
    assert a.best_epoch_ == int(np.argmin([r["valid_loss"] for r in a.history_])) + 1


def test_warm_start_continues():
    tr = Seq2SeqTranslator(**{**TINY, "max_epochs": 2}, warm_start=True, n_iter_no_change=None)
    tr.fit(SRC, TGT)
    module = tr.module_
    tr.fit(SRC, TGT)
    assert tr.module_ is module and len(tr.history_) == 4


class InterruptingTranslator(Seq2SeqTranslator):
    def initialize_optimizer(self):
        optimizer = super().initialize_optimizer()
        step, calls = optimizer.step, []

        def interrupting_step(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return step(*args, **kwargs)

        optimizer.step = interrupting_step
        return optimizer


def test_ctrl_c_leaves_a_usable_model():
    tr = InterruptingTranslator(**{**TINY, "batch_size": 16})
    with pytest.warns(TrainingInterruptedWarning):
        tr.fit(SRC, TGT)
    assert isinstance(tr.predict(["one two"])[0], str)


def test_sklearn_contract(word_model):
    # the data-free scikit-learn checks run in tests/test_sklearn_contract.py
    copy = clone(word_model)
    assert not hasattr(copy, "module_")
    restored = pickle.loads(pickle.dumps(word_model))
    assert restored.predict(SRC[:6]) == word_model.predict(SRC[:6])
    tags = Seq2SeqTranslator().__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array


def test_grid_search():
    """Two loky workers score exactly what fits in this process score."""
    params = {**TINY, "max_epochs": 2, "metric": "exact"}
    grid = GridSearchCV(
        Seq2SeqTranslator(**params),
        {"decoder": ["bahdanau", "luong"]},
        cv=2,
        n_jobs=2,
        error_score="raise",
    )
    grid.fit(SRC, TGT)
    for decoder, score in zip(
        grid.cv_results_["param_decoder"], grid.cv_results_["mean_test_score"], strict=True
    ):
        here = [
            Seq2SeqTranslator(**params, decoder=decoder)
            .fit([SRC[i] for i in fit], [TGT[i] for i in fit])
            .score([SRC[i] for i in held], [TGT[i] for i in held])
            for fit, held in KFold(2).split(SRC)
        ]
        assert score == np.mean(here), decoder
    best = int(np.argmax(grid.cv_results_["mean_test_score"]))
    assert grid.best_params_["decoder"] == grid.cv_results_["param_decoder"][best]


@pytest.mark.parametrize("beam_size", [1, 3])
def test_search_on_two_cores_equals_one(date_model, dates, beam_size, torch_threads):
    """With two torch threads the batches are searched in two one-thread workers."""
    sources = list(dates[1]["source"]) * 3  # 300 sources, batches of 64
    model = copy.deepcopy(date_model).set_params(beam_size=beam_size, batch_size=16)
    one = model.predict(sources)
    with torch_threads(2):
        two = model.predict(sources)
    assert two == one


def test_validation_on_two_cores_equals_one(dates, torch_threads):
    train, _ = dates
    # In float32: bf16 sums split across threads differ by bf16 rounding.
    params = dict(hidden_size=16, embedding_dim=8, max_epochs=2, random_state=0, precision="fp32")
    one = Seq2SeqTranslator(**params).fit(train["source"], train["target"]).history_
    with torch_threads(2):
        two = Seq2SeqTranslator(**params).fit(train["source"], train["target"]).history_
    for a, b in zip(one, two, strict=True):
        assert a["valid_accuracy"] == b["valid_accuracy"]
        assert a["valid_loss"] == pytest.approx(b["valid_loss"], abs=1e-5)
