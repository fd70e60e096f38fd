"""save(dir) and load(dir): plain data files, identical predictions, clear errors."""

import json
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from safetensors.torch import save_file
from tokenizers import Tokenizer

import bilstm_attn
from bilstm_attn import (
    BiLSTMAttentionClassifier,
    ModelFileError,
    NotFittedError,
    Seq2SeqTranslator,
    VersionMismatchWarning,
    load,
)
from bilstm_attn.datasets import make_dates


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("model") / "clf")


@pytest.fixture(scope="module")
def translator():
    dates = make_dates(200, random_state=0)
    params = dict(embedding_dim=8, hidden_size=8, max_epochs=1, random_state=0)
    return Seq2SeqTranslator(**params).fit(dates["source"], dates["target"])


def test_directory_holds_plain_data_files(saved):
    assert sorted(p.name for p in saved.iterdir()) == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    config = json.loads((saved / "config.json").read_text())
    assert config["estimator"] == "BiLSTMAttentionClassifier"
    assert config["versions"]["bilstm_attn"] == bilstm_attn.__version__
    assert config["versions"]["torch"]
    assert config["fitted"]["classes"] == {"values": ["negative", "positive"], "dtype": "|O"}
    assert config["params"]["hidden_size"] == 16


def test_round_trip_gives_identical_predictions(fitted, saved, reviews):
    _, test = reviews
    loaded = BiLSTMAttentionClassifier.load(saved)
    np.testing.assert_array_equal(
        loaded.predict_proba(test["text"]), fitted.predict_proba(test["text"])
    )
    assert loaded.get_params() == fitted.get_params()
    assert loaded.history_ == fitted.history_ and loaded.best_epoch_ == fitted.best_epoch_
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert loaded.classes_.dtype == fitted.classes_.dtype
    assert loaded.tokenizer_.to_str() == fitted.tokenizer_.to_str()
    assert type(load(saved)) is BiLSTMAttentionClassifier


def test_identical_predictions_in_a_fresh_process(fitted, saved, reviews, tmp_path):
    _, test = reviews
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps(list(test["text"])))
    out = tmp_path / "proba.npy"
    script = (
        "import json, sys, numpy as np, bilstm_attn\n"
        "model = bilstm_attn.load(sys.argv[1])\n"
        "np.save(sys.argv[3], model.predict_proba(json.load(open(sys.argv[2]))))\n"
    )
    subprocess.run([sys.executable, "-c", script, saved, texts, out], check=True)
    np.testing.assert_array_equal(np.load(out), fitted.predict_proba(test["text"]))


@pytest.mark.parametrize("labels", [[0, 1], [False, True], [-1.5, 2.0], ["neg", 7]])
def test_label_types_survive(tiny_params, tmp_path, labels):
    texts = ["good film", "bad film", "great movie", "awful movie"] * 5
    y = [labels[0], labels[1], labels[0], labels[1]] * 5
    model = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 1}).fit(texts, y)
    loaded = load(model.save(tmp_path / "m"))
    assert loaded.classes_.dtype == model.classes_.dtype
    assert loaded.classes_.tolist() == model.classes_.tolist()
    assert loaded.predict(texts).tolist() == model.predict(texts).tolist()


def test_class_weight_keys_are_kept_whatever_they_are(tiny_params, tmp_path):
    texts = ["good film", "bad film"] * 5
    labels = ["tokenizer_file", "items"] * 5  # the keys config.json itself uses
    weights = {"tokenizer_file": 2.0, "items": 1.0}
    model = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 1}, class_weight=weights)
    loaded = load(model.fit(texts, labels).save(tmp_path / "m"))
    assert loaded.class_weight == weights


def test_translator_round_trip(translator, tmp_path):
    path = translator.save(tmp_path / "tr")
    assert (path / "target_tokenizer.json").is_file()
    loaded = Seq2SeqTranslator.load(path)
    sources = list(make_dates(20, random_state=5)["source"])
    assert loaded.predict(sources) == translator.predict(sources)
    np.testing.assert_array_equal(
        loaded.translate(sources[0]).attention, translator.translate(sources[0]).attention
    )


def test_translator_with_a_shared_vocabulary_writes_one_tokenizer(tmp_path):
    dates = make_dates(100, random_state=0)
    params = dict(embedding_dim=8, hidden_size=8, max_epochs=1, random_state=0)
    model = Seq2SeqTranslator(**params, share_vocabulary=True).fit(dates["source"], dates["target"])
    loaded = load(model.save(tmp_path / "tr"))
    assert not (tmp_path / "tr" / "target_tokenizer.json").exists()
    assert loaded.source_tokenizer_ is loaded.target_tokenizer_
    assert loaded.predict(list(dates["source"][:5])) == model.predict(list(dates["source"][:5]))


def test_a_ready_tokenizer_parameter_is_saved_as_its_file(fitted, reviews, tiny_params, tmp_path):
    train, _ = reviews
    ready = Tokenizer.from_str(fitted.tokenizer_.to_str())
    model = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 1}, tokenizer=ready)
    model.fit(train["text"][:100], train["label"][:100])
    config = json.loads((model.save(tmp_path / "m") / "config.json").read_text())
    assert config["params"]["tokenizer"] == {"tokenizer_file": "tokenizer.json"}
    loaded = load(tmp_path / "m")
    assert isinstance(loaded.tokenizer, Tokenizer)
    assert loaded.tokenizer.to_str() == ready.to_str()


def test_loaded_model_keeps_training(saved, reviews):
    train, _ = reviews
    loaded = load(saved).set_params(warm_start=True, max_epochs=1)
    before = len(loaded.history_)
    loaded.fit(train["text"][:200], train["label"][:200])
    assert len(loaded.history_) == before + 1


def test_pretrained_vectors_are_not_read_again(reviews, tiny_params, tmp_path):
    train, _ = reviews
    vectors = tmp_path / "vectors.txt"
    words = ["film", "movie", "the"]
    vectors.write_text("".join(f"{w} " + " ".join(["0.5"] * 16) + "\n" for w in words))
    params = {**tiny_params, "max_epochs": 1, "pretrained_embeddings": vectors}
    model = BiLSTMAttentionClassifier(**params, freeze_embeddings=True)
    model.fit(train["text"][:100], train["label"][:100])
    model.save(tmp_path / "m")
    vectors.unlink()
    loaded = load(tmp_path / "m")
    assert loaded.embedding_coverage_ == model.embedding_coverage_
    embedding = loaded.module_.encoder.embedding.weight
    assert not embedding.requires_grad
    np.testing.assert_array_equal(
        embedding.detach().numpy(), model.module_.encoder.embedding.weight.detach().numpy()
    )


def test_pickle_still_works(fitted, reviews):
    _, test = reviews
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        again.predict_proba(test["text"]), fitted.predict_proba(test["text"])
    )


# ------------------------------------------------------------------------- bad files
def copy_of(saved, tmp_path):
    target = tmp_path / "copy"
    target.mkdir()
    for path in saved.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def load_fails(path, match):
    with pytest.raises(ModelFileError, match=match) as caught:
        load(path)
    error = caught.value  # raised "from None": no chained traceback from a library
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None
    return caught.value


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "tokenizer.json"])
def test_missing_file_is_named(saved, tmp_path, name):
    path = copy_of(saved, tmp_path)
    (path / name).unlink()
    load_fails(path, f"{name} is missing")


def test_flipped_byte_in_the_weights(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    data = bytearray((path / "model.safetensors").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "model.safetensors").write_bytes(bytes(data))
    load_fails(path, "model.safetensors is corrupt or truncated: its sha256 is")


def test_truncated_weights(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 3])
    load_fails(path, "model.safetensors is corrupt or truncated")


def rehash(path, name):
    """Make config.json agree with a replaced file, to reach the parsers' own checks."""
    config = json.loads((path / "config.json").read_text())
    from bilstm_attn._files import file_sha256

    config["files"][name]["sha256"] = file_sha256(path / name)
    (path / "config.json").write_text(json.dumps(config))


def test_unreadable_weights_with_a_matching_checksum(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 3])
    rehash(path, "model.safetensors")
    load_fails(path, r"model.safetensors does not hold this network's weights")


def test_weights_of_another_network(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    save_file({"head.weight": __import__("torch").zeros(2, 2)}, path / "model.safetensors")
    rehash(path, "model.safetensors")
    load_fails(path, r"does not hold this network.s weights \(missing \[")


def test_a_pickle_in_place_of_the_weights_is_never_run(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (path / "model.safetensors").write_bytes(pickle.dumps(Payload()))
    rehash(path, "model.safetensors")
    load_fails(path, "model.safetensors does not hold")
    assert not marker.exists()


def test_bad_tokenizer_file(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    (path / "tokenizer.json").write_text("{not json")
    rehash(path, "tokenizer.json")
    load_fails(path, "tokenizer.json cannot be read by tokenizers")


def test_bad_config(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    (path / "config.json").write_text("{")
    load_fails(path, "config.json is not valid JSON")
    (path / "config.json").write_text(json.dumps({"format": "something else"}))
    load_fails(path, "config.json was not written by bilstm_attn's save")


def test_edited_parameters(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["params"]["attention"] = "bahdanau "
    (path / "config.json").write_text(json.dumps(config))
    load_fails(path, r"the parameters in config.json do not fit BiLSTMAttentionClassifier")


def test_a_model_saved_before_a_parameter_existed_keeps_its_behaviour(tiny_params, tmp_path):
    texts = ["a fine film " + "word " * 30 + "awful end", "an awful film " + "word " * 30] * 10
    labels = ["neg", "pos"] * 10
    old = BiLSTMAttentionClassifier(
        **tiny_params, max_length=8, truncation="head", attention_size=None, average_decay=None
    ).fit(texts, labels)
    path = old.save(tmp_path / "old")
    config = json.loads((path / "config.json").read_text())
    for added in ("truncation", "attention_size", "average_decay"):
        del config["params"][added]  # as 0.1 wrote it
    (path / "config.json").write_text(json.dumps(config))
    loaded = load(path)
    assert loaded.truncation == "head" and loaded.attention_size is None
    assert loaded.average_decay is None
    np.testing.assert_array_equal(loaded.predict_proba(texts), old.predict_proba(texts))


def test_newer_format_is_refused(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["format_version"] = 99
    (path / "config.json").write_text(json.dumps(config))
    load_fails(path, "saved in format 99 .* upgrade bilstm_attn")


def test_version_mismatch_warns(saved, tmp_path, reviews):
    path = copy_of(saved, tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["versions"].update(bilstm_attn="0.0.1", torch="1.13.1")
    (path / "config.json").write_text(json.dumps(config))
    with pytest.warns(VersionMismatchWarning, match=r"bilstm_attn 0.0.1 .* and torch 1.13.1"):
        model = load(path)
    assert model.predict(reviews[1]["text"][:3]).shape == (3,)


def test_same_versions_do_not_warn(saved):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(saved)


def test_wrong_estimator_and_not_a_directory(saved, translator, tmp_path):
    with pytest.raises(ModelFileError, match="holds a BiLSTMAttentionClassifier, not a Seq2Seq"):
        Seq2SeqTranslator.load(saved)
    with pytest.raises(ModelFileError, match=r"nowhere'(: there is no such directory\.)"):
        load(tmp_path / "nowhere")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ModelFileError, match="it is a file, not a directory written by save"):
        load(tmp_path / "a_file")


def test_save_errors(fitted, tiny_params, tmp_path):
    with pytest.raises(NotFittedError):
        BiLSTMAttentionClassifier().save(tmp_path / "m")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"save\(\) needs a directory; .* is a file"):
        fitted.save(tmp_path / "file")
    texts = ["good film", "bad film"] * 5
    model = BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 1})
    model.fit(texts, [("a", 1), ("b", 2)] * 5)
    with pytest.raises(ValueError, match="classes_ holds tuple"):
        model.save(tmp_path / "tuples")


def test_random_state_instance_is_said_to_be_dropped(reviews, tiny_params, tmp_path):
    train, _ = reviews
    params = {**tiny_params, "max_epochs": 1, "random_state": np.random.RandomState(0)}
    model = BiLSTMAttentionClassifier(**params).fit(train["text"][:50], train["label"][:50])
    with pytest.warns(UserWarning, match="random_state=None"):
        model.save(tmp_path / "m")
    assert load(tmp_path / "m").random_state is None


def test_resave_over_an_earlier_model(fitted, translator, tmp_path):
    fitted.save(tmp_path / "m")
    translator.save(tmp_path / "m")
    assert type(load(tmp_path / "m")) is Seq2SeqTranslator
    assert load(tmp_path / "m", device="cpu").device_.type == "cpu"
