"""Fuzzing with hypothesis, on small fitted models of both estimators.

Every test runs a bounded number of examples, ``EXAMPLES`` below: 30 lists of texts
through prediction, the three explanations and the views, 30 texts through the
translator, 15 fits on arbitrary texts, 40 label lists, 200 parameter values, 200
mutated model directories, 100 cases per property (the file takes under a minute on 2
cores). The runs are derandomized, so that one is reproducible.
What each must hold: a library error with a clear message (``ValueError``,
``TypeError``, ``ModelFileError``, ...) or a valid result, never an exception from inside
torch, tokenizers or pandas, never a NaN probability, never unescaped user text in HTML.
"""

import json
import math
import random
import shutil
import warnings
from html.parser import HTMLParser

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from bilstm_attn import (
    BiLSTMAttentionClassifier,
    BilstmAttnError,
    ModelFileError,
    Seq2SeqTranslator,
    load,
)
from bilstm_attn._files import file_sha256
from bilstm_attn.datasets import make_dates
from bilstm_attn.explain import METHODS
from bilstm_attn.text import piece_word_index, sorted_batches, truncate, word_spans

EXAMPLES = {"texts": 30, "fit": 15, "labels": 40, "params": 200, "files": 200, "properties": 100}


def fuzz(kind: str):
    return settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Errors a user may get: the library's own, and the standard ones its checks raise with a
# message naming the argument. Anything else escaping is a bug.
USER_ERRORS = (ValueError, TypeError, OSError, BilstmAttnError)

ODD_TEXTS = [
    "",
    " \t\n ",
    "\x00",
    "a\x00b",
    "e\u0301\u0301\u0301 n\u0303",  # combining marks
    "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",  # right-to-left
    "\u202ereversed\u202c",
    "zero\u200bwidth\u200d joiner\ufeff",
    "\x1c",  # whitespace to Python, a piece to the tokenizer: a piece in no word
    "\x1cword\x1d \x1e",
    "\U0001f44d\U0001f3fd \U0001f1f0\U0001f1f7 \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "!!! ... ??? ,,, ;;;",
    "x" * 100_000,
    "word " * 20_000,
    '<script>alert("x")</script> <b onmouseover="x">&amp;</b>',
    "\ud800",  # a lone surrogate: not valid Unicode text
    "ok \udfff ok",
]
texts_strategy = st.one_of(
    st.sampled_from(ODD_TEXTS),
    st.text(st.characters(codec="utf-8"), max_size=200),
    st.text(st.characters(), max_size=50),  # surrogates too
)


def has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def tags_of(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def translator():
    dates = make_dates(200, random_state=0)
    params = dict(embedding_dim=8, hidden_size=8, max_epochs=1, random_state=0)
    return Seq2SeqTranslator(**params).fit(dates["source"], dates["target"])


@pytest.fixture(scope="module")
def plain_tags(fitted):
    return tags_of(fitted.explain(["a plain text"])[0].to_html())


# ------------------------------------------------------------------ texts
@fuzz("texts")
@given(texts=st.lists(texts_strategy, min_size=1, max_size=3))
def test_any_text_through_prediction_explanations_and_views(fitted, plain_tags, texts):
    if any(has_surrogate(t) for t in texts):
        with pytest.raises(ValueError, match=r"X\[\d\] holds the surrogate code point"):
            fitted.predict_proba(texts)
        return
    proba = fitted.predict_proba(texts)
    assert proba.shape == (len(texts), 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    for method in METHODS:
        for text, e in zip(texts, fitted.explain(texts, method=method, n_steps=4)):
            assert e.tokens == text.split() and np.isfinite(e.weights).all()
            assert e.weights.shape == (len(e.tokens),) and math.isfinite(e.proba)
            html = e.to_html()
            found = tags_of(html)
            assert found.tags <= plain_tags.tags and found.attributes <= plain_tags.attributes
            assert "<script" not in html
            assert isinstance(e.to_ansi(), str) and isinstance(e.to_ansi(color=False), str)


@fuzz("texts")
@given(text=texts_strategy)
def test_any_text_through_the_translator(translator, text):
    if has_surrogate(text):
        with pytest.raises(ValueError, match="holds the surrogate code point"):
            translator.translate(text)
        return
    translation = translator.translate(text[:2000])
    assert isinstance(translation.text, str)
    assert np.isfinite(translation.attention).all() and math.isfinite(translation.score)
    assert isinstance(translation.to_ansi(), str)
    assert len(translator.predict([text[:2000], "1 May 2001"])) == 2


@fuzz("fit")
@given(texts=st.lists(texts_strategy, min_size=4, max_size=8))
def test_fit_on_any_texts(tiny_params, texts):
    labels = ["a", "b"] * (len(texts) // 2) + ["a"] * (len(texts) % 2)
    clf = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 1, "validation_fraction": None})
    if any(has_surrogate(t) for t in texts):
        with pytest.raises(ValueError, match="holds the surrogate code point"):
            clf.fit(texts, labels)
        event("refused: a surrogate")
        return
    clf.fit(texts, labels)
    event("fitted")
    proba = clf.predict_proba(texts)
    assert np.isfinite(proba).all()


# ------------------------------------------------------------------ labels
label_strategy = st.one_of(
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.binary(max_size=3),
    st.tuples(st.integers(0, 3)),
    st.frozensets(st.integers(0, 3), max_size=2),
    st.none(),
    st.complex_numbers(allow_nan=False, max_magnitude=10),
)


@fuzz("labels")
@given(labels=st.lists(label_strategy, min_size=6, max_size=6))
def test_labels_of_any_hashable_type(tiny_params, labels):
    texts = ["good film", "bad film", "great acting", "awful acting", "fine", "poor"]
    clf = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 1, "validation_fraction": None})
    try:
        clf.fit(texts, labels)
    except USER_ERRORS as error:
        event(f"refused: {type(error).__name__}")
        assert str(error)  # a message, from the library's checks
        assert not hasattr(clf, "classes_")
        return
    event("fitted")
    predicted = clf.predict(texts)
    for label in predicted:  # each prediction is one of the labels given
        assert any(label == given for given in labels)
    assert len(clf.classes_) == len(set(labels))


# ------------------------------------------------------------------ parameters
any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.sampled_from([0, 1, -1, 2, 7, 2**31, 10**6, 10**9, 10**12, 0.5, 1.0, 1e-300, 1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(-2, 2), max_size=2),
    st.builds(object),
)
# Values that only cost time (an epoch count of a billion trains for a billion epochs).
TIME_PARAMS = {"max_epochs", "n_iter_no_change", "beam_size", "max_output_length"}


def small_if_costly(name: str, value):
    if name in TIME_PARAMS and isinstance(value, int) and not isinstance(value, bool):
        return min(value, 3)
    return value


@fuzz("params")
@given(data=st.data())
def test_any_parameter_value(tiny_params, translator, tmp_path_factory, data, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))  # a checkpoint_dir lands here
    which = data.draw(st.sampled_from(["classifier", "translator"]))
    if which == "classifier":
        estimator = BiLSTMAttentionClassifier(
            **{**tiny_params, "max_epochs": 1, "validation_fraction": None}
        )
        X, y = ["good film", "bad film", "great acting", "awful acting"] * 2, [1, 0, 1, 0] * 2
    else:
        estimator = clone(translator)
        dates = make_dates(16, random_state=0)
        X, y = list(dates["source"]), list(dates["target"])
    name = data.draw(st.sampled_from(sorted(estimator.get_params())))
    value = small_if_costly(name, data.draw(any_value))
    estimator.set_params(**{name: value})
    assert estimator.get_params()[name] is value  # stored as given
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(X, y)
    except USER_ERRORS as error:
        event(f"refused: {type(error).__name__}")
        assert name in str(error) or type(error).__module__.startswith("bilstm_attn"), error
        return
    event("fitted")
    if which == "classifier":
        assert np.isfinite(estimator.predict_proba(X)).all()
    else:
        assert all(isinstance(t, str) for t in estimator.predict(X[:3]))


# ------------------------------------------------------------------ model directories
json_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def json_paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*prefix, index))


def mutate_json(document, rng: random.Random, replacement):
    """Remove a key, swap a value for another, or add an entry, at a random place."""
    paths = [p for p in json_paths(document) if p]
    path = rng.choice(paths)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    action = rng.choice(["remove", "replace", "add"])
    if action == "remove":
        del parent[path[-1]]
    elif action == "replace":
        parent[path[-1]] = replacement
    elif isinstance(parent, dict):
        parent[f"added{rng.randrange(10)}"] = replacement
    else:
        parent.append(replacement)
    return document


@pytest.fixture(scope="module")
def saved_models(fitted, translator, tmp_path_factory):
    root = tmp_path_factory.mktemp("saved")
    return {"classifier": fitted.save(root / "clf"), "translator": translator.save(root / "tr")}


@fuzz("files")
@given(data=st.data())
def test_mutated_model_directories(saved_models, fitted, translator, tmp_path_factory, data):
    which = data.draw(st.sampled_from(["classifier", "translator"]))
    original = {"classifier": fitted, "translator": translator}[which]
    path = tmp_path_factory.mktemp("mutated") / "model"
    shutil.copytree(saved_models[which], path)
    name = data.draw(st.sampled_from(sorted(p.name for p in path.iterdir())))
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    flip = data.draw(st.booleans())  # else an edit of the JSON (the weights' header)
    rehash = data.draw(st.booleans()) and name != "config.json"  # config.json has no sha
    raw = (path / name).read_bytes()
    if flip:
        changed = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            changed[rng.randrange(len(changed))] ^= 1 << rng.randrange(8)
        (path / name).write_bytes(bytes(changed))
    elif name == "model.safetensors":
        size = int.from_bytes(raw[:8], "little")
        header = mutate_json(json.loads(raw[8 : 8 + size]), rng, data.draw(json_value))
        text = json.dumps(header).encode()
        (path / name).write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + size :])
    else:
        document = mutate_json(json.loads(raw), rng, data.draw(json_value))
        (path / name).write_text(json.dumps(document))
    if rehash:
        config = json.loads((path / "config.json").read_text())
        config["files"][name]["sha256"] = file_sha256(path / name)
        (path / "config.json").write_text(json.dumps(config))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = load(path)
    except ModelFileError:
        event("ModelFileError")
        return
    event("loaded")
    assert name == "config.json" or rehash, f"a changed {name} passed its checksum"
    if which == "classifier":
        texts = ["a good film", "", "awful"]
        proba = model.predict_proba(texts)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        same = model.get_params() == original.get_params() and not rehash
        if same and list(model.classes_) == list(original.classes_):
            np.testing.assert_array_equal(proba, original.predict_proba(texts))
    else:
        assert all(isinstance(t, str) for t in model.predict(["1 May 2001"]))


# ------------------------------------------------------------------ properties
@fuzz("properties")
@given(
    n=st.integers(0, 300),
    max_length=st.one_of(st.none(), st.integers(1, 400)),
    truncation=st.sampled_from(["head", "tail", "head_tail"]),
)
def test_truncate_keeps_each_index_once_in_order(n, max_length, truncation):
    kept = truncate(list(range(n)), max_length, truncation)
    assert kept == sorted(set(kept)) and len(kept) == min(n, max_length or n)
    assert np.array_equal(truncate(np.arange(n), max_length, truncation), kept)


@fuzz("properties")
@given(lengths=st.lists(st.integers(0, 500), max_size=200), max_tokens=st.integers(1, 5000))
def test_sorted_batches_keep_each_index_once(lengths, max_tokens):
    batches = sorted_batches(np.array(lengths, dtype=np.int64), max_tokens)
    flat = np.concatenate(batches) if batches else np.array([], dtype=np.int64)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    for batch in batches:
        widest = max((lengths[i] for i in batch), default=0)
        assert len(batch) == 1 or len(batch) * max(widest, 1) <= max_tokens


@fuzz("properties")
@given(
    text=st.one_of(
        st.sampled_from(ODD_TEXTS[:12]), st.text(st.characters(codec="utf-8"), max_size=300)
    )
)
def test_each_piece_has_exactly_one_word(fitted, text):
    (encoded,) = fitted.encode([text])
    spans = word_spans(text)
    assert len(encoded.word_index) == len(encoded.ids)
    assert encoded.word_index.min(initial=0) >= -1  # -1: a piece before every word
    assert encoded.word_index.max(initial=-1) < len(spans)
    assert np.all(np.diff(encoded.word_index) >= 0)
    offsets = [(0, 0)] * len(encoded.ids)
    assert len(piece_word_index(offsets, spans)) == len(encoded.ids)


@fuzz("texts")
@given(
    text=st.text(st.characters(codec="utf-8"), min_size=1, max_size=80),
    others=st.lists(st.text(st.characters(codec="utf-8"), max_size=400), min_size=1, max_size=3),
)
def test_an_explanation_does_not_depend_on_the_other_texts(fitted, across_layouts, text, others):
    """Attention and integrated gradients of a text alone, and padded among longer texts:
    the same within float32 rounding across batch layouts."""
    for method in ("attention", "integrated_gradients"):
        (alone,) = fitted.explain([text], method=method, n_steps=8)
        among = fitted.explain([*others, text], method=method, n_steps=8)[-1]
        scale = max(1.0, float(np.abs(alone.weights).max(initial=0)))  # gradients: unbounded
        np.testing.assert_allclose(
            among.weights, alone.weights, rtol=0, atol=across_layouts * scale
        )
        assert among.proba == pytest.approx(alone.proba, abs=across_layouts)


NASTY = [None, True, -1, 0, 10**9, 1e300, float("nan"), "", "a\x00b", [1], {"a": "x"}, object()]


@pytest.mark.parametrize("which", ["classifier", "translator"])
def test_every_parameter_with_each_nasty_value(
    tiny_params, translator, which, tmp_path, monkeypatch
):
    """The grid beside the fuzzer: every parameter of both estimators, each of a fixed
    list of values of every type."""
    monkeypatch.chdir(tmp_path)
    if which == "classifier":
        base = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 1})
        X, y = ["good film", "bad film", "great acting", "awful acting"] * 2, [1, 0, 1, 0] * 2
    else:
        base = clone(translator)
        dates = make_dates(16, random_state=0)
        X, y = list(dates["source"]), list(dates["target"])
    for name in sorted(base.get_params()):
        for value in NASTY:
            estimator = clone(base).set_params(**{name: small_if_costly(name, value)})
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    estimator.fit(X, y)
            except USER_ERRORS as error:
                assert name in str(error) or type(error).__module__.startswith("bilstm_attn"), (
                    name,
                    value,
                    error,
                )
