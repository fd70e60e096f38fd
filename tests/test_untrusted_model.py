"""load() of a hostile or broken model directory: a ModelFileError, and nothing outside
the directory read. One test per hole; ``tests/test_fuzz.py`` mutates files at random."""

import json
import os
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models

import bilstm_attn._loading
from bilstm_attn import BiLSTMAttentionClassifier, ModelFileError, Seq2SeqTranslator, load
from bilstm_attn._files import file_sha256
from bilstm_attn.datasets import make_dates


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("model") / "clf")


@pytest.fixture
def model(saved, tmp_path):
    """A copy of the saved model, with a secret file beside it that must stay unread."""
    target = tmp_path / "model"
    target.mkdir()
    for path in saved.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    (tmp_path / "secret.json").write_text('{"format": "bilstm-attn model", "secret": 1}')
    return target


_OPENED: list[str] | None = None


def _audit(event, args):
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only while asked


def load_fails(path, match):
    """load(path) raises a ModelFileError matching ``match``, opening no file outside
    ``path`` (Python's own opens, as audited; the tokenizer and weight parsers are only
    handed bytes)."""
    global _OPENED
    _OPENED = []
    try:
        with pytest.raises(ModelFileError, match=match) as caught:
            load(path)
    finally:
        opened, _OPENED = _OPENED, None
    root = os.path.realpath(path)
    outside = [name for name in opened if not os.path.realpath(name).startswith(root + os.sep)]
    assert outside == [], f"load() opened {outside}"
    assert caught.value.__cause__ is None
    return caught.value


def edit_config(path, change):
    config = json.loads((path / "config.json").read_text())
    change(config)
    (path / "config.json").write_text(json.dumps(config))


def rehash(path, name):
    edit_config(path, lambda c: c["files"][name].update(sha256=file_sha256(path / name)))


# ------------------------------------------------------------------ tokenizer attributes
@pytest.mark.parametrize("attribute", ["predict_proba", "__class__", "module_"])
def test_tokenizer_attributes_are_a_fixed_set(model, attribute):
    edit_config(model, lambda c: c.update(tokenizers={attribute: "tokenizer.json"}))
    load_fails(model, r"'tokenizers' should name the files of \['tokenizer_'\]")


def test_an_extra_tokenizer_attribute_is_refused(model):
    edit_config(model, lambda c: c["tokenizers"].update(predict="tokenizer.json"))
    load_fails(model, "'tokenizers' should name the files of")


# ------------------------------------------------------------------ file names
@pytest.mark.parametrize("name", ["../secret.json", "/etc/passwd", "sub/tokenizer.json", "", ".."])
def test_file_names_stay_inside_the_directory(model, name):
    edit_config(model, lambda c: c["tokenizers"].update(tokenizer_=name))
    load_fails(model, r"'tokenizers.tokenizer_' names the file .*plain names")


def test_an_absolute_path_in_the_checksums_is_refused(model, tmp_path):
    def change(config):
        config["files"][str(tmp_path / "secret.json")] = {"sha256": "0" * 64}

    edit_config(model, change)
    load_fails(model, "'files' names the file .*plain names")


def test_a_tokenizer_parameter_names_only_a_file_of_the_model(model):
    edit_config(model, lambda c: c["params"].update(tokenizer={"tokenizer_file": "../secret.json"}))
    load_fails(model, "'params.tokenizer' names no tokenizer file of the model")


@pytest.mark.parametrize("name", ["tokenizer.json", "config.json", "model.safetensors"])
def test_a_link_out_of_the_directory_is_refused(model, tmp_path, name):
    (model / name).unlink()
    (model / name).symlink_to(tmp_path / "secret.json")
    load_fails(model, f"{name} is a link that leaves the model directory")


def test_a_link_inside_the_directory_is_followed(model, reviews):
    (model / "tokenizer.json").rename(model / "real.json")
    (model / "tokenizer.json").symlink_to("real.json")
    assert load(model).predict(reviews[1]["text"][:5]).shape == (5,)


def test_a_directory_in_place_of_a_file_is_refused(model):
    (model / "tokenizer.json").unlink()
    (model / "tokenizer.json").mkdir()
    load_fails(model, "tokenizer.json is not a regular file")


# ------------------------------------------------------------------ checksums
def test_weights_left_out_of_the_checksums_are_refused(model):
    data = bytearray((model / "model.safetensors").read_bytes())
    data[-3] ^= 0x01
    (model / "model.safetensors").write_bytes(bytes(data))
    edit_config(model, lambda c: c["files"].pop("model.safetensors"))
    load_fails(model, "lists no sha256 for model.safetensors; every file is checked")


def test_a_tokenizer_left_out_of_the_checksums_is_refused(model):
    edit_config(model, lambda c: c["files"].pop("tokenizer.json"))
    load_fails(model, "lists no sha256 for tokenizer.json")


@pytest.mark.parametrize("digest", [None, 5, "abc", "G" * 64])
def test_a_malformed_checksum_is_refused(model, digest):
    edit_config(model, lambda c: c["files"]["tokenizer.json"].update(sha256=digest))
    load_fails(model, r"'files.tokenizer.json.sha256' is not a sha256 digest")


def test_a_file_listed_but_not_part_of_the_model_is_refused(model):
    (model / "notes.txt").write_text("hi")
    edit_config(model, lambda c: c["files"].update({"notes.txt": {"sha256": "0" * 64}}))
    load_fails(model, "lists notes.txt, which is no file of this model")


# ------------------------------------------------------------------ config values by type
@pytest.mark.parametrize(
    "key, value, match",
    [
        ("estimator", [], "'estimator' should be a string; it is a list"),
        ("estimator", "PersistenceMixin", "it holds a PersistenceMixin"),
        ("format_version", True, "has no valid format_version"),
        ("format_version", 0, "has no valid format_version"),
        ("versions", ["1"], "'versions' should be an object"),
        ("params", [], "'params' should be an object"),
        ("files", "x", "'files' should be an object"),
        ("tokenizers", None, "'tokenizers' should be an object"),
        ("fitted", 3, "'fitted' should be an object"),
    ],
)
def test_top_level_values_are_type_checked(model, key, value, match):
    edit_config(model, lambda c: c.update({key: value}))
    load_fails(model, match)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("class_weight", {"items": [1]}, "'params.class_weight' should be a string, a number"),
        ("class_weight", {"items": [[[1], 2]]}, "'params.class_weight' should be"),
        ("hidden_size", [8], "'params.hidden_size' should be a string, a number"),
        ("hidden_size", "8", "The 'hidden_size' parameter of BiLSTMAttentionClassifier must be"),
        ("hidden_size", -1, "The 'hidden_size' parameter"),
        ("dropout", float("nan"), "The 'dropout' parameter"),
        ("device", 5, "The 'device' parameter"),
        ("no_such_param", 1, "'params' has 'no_such_param', which is no parameter"),
    ],
)
def test_parameters_are_type_checked(model, key, value, match):
    edit_config(model, lambda c: c["params"].update({key: value}))
    load_fails(model, match)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("history", {"a": 1}, "'fitted.history' should be a list of objects"),
        ("history", [{"loss": [1]}], "'fitted.history' should be a list of objects"),
        ("best_epoch", "5", "'fitted.best_epoch' should be an epoch number or null"),
        ("best_epoch", -2, "'fitted.best_epoch'"),
        ("classes", ["neg", "pos"], "'fitted.classes' is not valid: it should be an object"),
        ("classes", {"values": ["neg"], "dtype": "<U3"}, "at least two labels"),
        ("classes", {"values": ["a", "a"], "dtype": "<U1"}, "repeat a label"),
        ("classes", {"values": ["a", "b"], "dtype": "<U100000000"}, "is not one save"),
        ("classes", {"values": ["a", "b"], "dtype": "V8"}, "is not one save"),
        ("classes", {"values": ["a", "b"], "dtype": "no such"}, "is not one save"),
        ("classes", {"values": [1.5, 2], "dtype": "<i8"}, "are not all of the dtype"),
        ("classes", {"values": [[1], 2], "dtype": "|O"}, "should be strings, numbers"),
        ("embedding_coverage", "all", "'fitted.embedding_coverage' is not valid"),
        ("embedding_coverage", 7, "'fitted.embedding_coverage' is not valid"),
    ],
)
def test_fitted_values_are_type_checked(model, key, value, match):
    edit_config(model, lambda c: c["fitted"].update({key: value}))
    load_fails(model, match)


def test_a_missing_fitted_value_is_named(model):
    edit_config(model, lambda c: c["fitted"].pop("classes"))
    load_fails(model, "'fitted.classes' is missing")


def test_more_classes_than_the_network_has_outputs(model):
    classes = {"values": ["neg", "pos", "zzz"], "dtype": "<U3"}
    edit_config(model, lambda c: c["fitted"].update(classes=classes))
    load_fails(model, r"head.weight has shape \(2, \d+\); config.json needs \(3, \d+\)")


# ------------------------------------------------------------------ sizes before allocation
def test_a_huge_network_is_refused_before_anything_is_allocated(model):
    edit_config(model, lambda c: c["params"].update(hidden_size=10**7))
    load_fails(model, r"describe a network of [\d,]+ weights, more than the 1,073,741,824")


def test_shapes_are_compared_with_the_header_before_the_weights_are_read(model, monkeypatch):
    parsed, built = [], []
    monkeypatch.setattr(
        bilstm_attn._loading.safetensors.torch, "load", lambda data: parsed.append(1) or {}
    )
    real = BiLSTMAttentionClassifier._loaded_module
    monkeypatch.setattr(
        BiLSTMAttentionClassifier,
        "_loaded_module",
        lambda self: built.append(str(torch.get_default_device())) or real(self),
    )
    edit_config(model, lambda c: c["params"].update(hidden_size=9))
    load_fails(model, r"model.safetensors does not hold this network's weights \(.* has shape")
    assert parsed == [] and built == ["meta"]  # planned only, on the meta device


def test_a_small_file_for_a_large_network_allocates_only_what_the_file_holds(model):
    """8,000 hidden units is under the size limit; the 30 KB file is read, not 4 GB."""
    edit_config(model, lambda c: c["params"].update(hidden_size=8000))
    load_fails(model, r"does not hold this network's weights \(.* has shape")


def test_a_header_pointing_past_the_end_is_refused(model):
    data = (model / "model.safetensors").read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    key = next(k for k in header if k != "__metadata__")
    header[key]["data_offsets"][1] += 10**9
    text = json.dumps(header).encode()
    (model / "model.safetensors").write_bytes(
        len(text).to_bytes(8, "little") + text + data[8 + size :]
    )
    rehash(model, "model.safetensors")
    load_fails(model, f"the tensor '{key}' does not lie within the file")


def test_non_finite_weights_are_refused(model, fitted):
    weights = {k: v.clone() for k, v in fitted.module_.state_dict().items()}
    weights["head.bias"][0] = float("nan")
    save_file(weights, model / "model.safetensors", metadata={"format": "pt"})
    rehash(model, "model.safetensors")
    load_fails(model, "model.safetensors's head.bias holds NaN or infinite values")


@pytest.mark.parametrize("key", ["hidden_size", "embedding_dim", "attention_heads"])
def test_an_integer_past_what_torch_can_count(model, key):
    edit_config(model, lambda c: c["params"].update({key: 10**30}))
    load_fails(model, "describe a network")


def test_an_integer_of_five_thousand_digits(model):
    replace_tokenizer(model, '{"model": {"type": "WordLevel", "vocab": {"a": ' + "1" * 5000 + "}}}")
    load_fails(model, "tokenizer.json cannot be read by tokenizers")
    config = (model / "config.json").read_text()
    (model / "config.json").write_text(
        config.replace('"hidden_size": 16', '"hidden_size": ' + "9" * 5000)
    )
    load_fails(model, "config.json is not valid JSON")


@pytest.mark.parametrize("name", ["a\ud800", "C:x.json", "tok:enizer.json"])
def test_names_no_file_system_can_hold_or_that_name_a_drive(model, name):
    edit_config(model, lambda c: c["tokenizers"].update(tokenizer_=name))
    load_fails(model, "plain names inside its directory")


def test_a_link_loop(model):
    (model / "tokenizer.json").unlink()
    (model / "tokenizer.json").symlink_to("tokenizer.json")
    load_fails(model, "tokenizer.json cannot be read")


def test_a_fifo_is_not_waited_on(model):
    (model / "tokenizer.json").unlink()
    os.mkfifo(model / "tokenizer.json")
    load_fails(model, "tokenizer.json is not a regular file")


def test_an_oversized_config_is_refused_unread(model, monkeypatch):
    monkeypatch.setattr(bilstm_attn._model_dir, "MAX_CONFIG_BYTES", 100)
    load_fails(model, r"config.json is larger than the 100 bytes")


# ------------------------------------------------------------------ hostile tokenizers
def replace_tokenizer(model, text):
    (model / "tokenizer.json").write_text(text)
    rehash(model, "tokenizer.json")


def test_a_tokenizer_of_an_unknown_model_type(model):
    state = json.loads((model / "tokenizer.json").read_text())
    state["model"]["type"] = "Python"
    replace_tokenizer(model, json.dumps(state))
    load_fails(model, "tokenizer.json cannot be read by tokenizers or used: its model is of type")


def test_a_tokenizer_without_its_unknown_token(model):
    replace_tokenizer(model, Tokenizer(models.WordLevel({"a": 0}, unk_token="[UNK]")).to_str())
    load_fails(model, "unknown token '\\[UNK\\]' is not in its vocabulary")


def test_a_gigantic_vocabulary(model, monkeypatch):
    monkeypatch.setattr(bilstm_attn._loading, "MAX_VOCABULARY", 50)
    load_fails(model, "its vocabulary is missing or larger than 50 pieces")


def test_a_tokenizer_whose_rust_code_panics(model):
    state = json.loads((model / "tokenizer.json").read_text())
    state["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": "AAAA"}
    replace_tokenizer(model, json.dumps(state))
    load_fails(model, "tokenizer.json cannot be read by tokenizers or used")


def test_a_bpe_tokenizer_whose_unknown_token_is_missing(model):
    bpe = Tokenizer(models.BPE({"a": 0, "b": 1}, [], unk_token="[UNK]"))
    replace_tokenizer(model, bpe.to_str())
    load_fails(model, "it cannot encode a character outside its vocabulary")


def test_ids_past_the_embedding_table(model):
    state = json.loads((model / "tokenizer.json").read_text())
    word = next(w for w in state["model"]["vocab"] if not w.startswith("["))
    state["model"]["vocab"][word] = 4_000_000_000
    replace_tokenizer(model, json.dumps(state))
    load_fails(model, "describe a network of")  # the table the ids need is too large


def test_the_tokenizer_files_padding_and_truncation_are_not_obeyed(model, fitted, reviews):
    state = json.loads((model / "tokenizer.json").read_text())
    state["padding"] = {
        "strategy": {"Fixed": 3000}, "direction": "Right", "pad_to_multiple_of": None,
        "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]",
    }  # fmt: skip
    state["truncation"] = {
        "direction": "Right",
        "max_length": 2,
        "strategy": "LongestFirst",
        "stride": 0,
    }
    replace_tokenizer(model, json.dumps(state))
    texts = reviews[1]["text"][:20]
    np.testing.assert_array_equal(load(model).predict_proba(texts), fitted.predict_proba(texts))


def test_a_tokenizer_that_is_not_json(model):
    replace_tokenizer(model, "{not json")
    load_fails(model, "tokenizer.json cannot be read by tokenizers")


def test_a_translator_tokenizer_without_its_specials(tmp_path):
    dates = make_dates(60, random_state=0)
    params = dict(embedding_dim=8, hidden_size=8, max_epochs=1, random_state=0)
    path = Seq2SeqTranslator(**params).fit(dates["source"], dates["target"]).save(tmp_path / "t")
    name = json.loads((path / "config.json").read_text())["tokenizers"]["target_tokenizer_"]
    state = json.loads((path / name).read_text())
    state["added_tokens"] = [t for t in state["added_tokens"] if t["content"] != "[EOS]"]
    state["model"]["vocab"].pop("[EOS]", None)
    (path / name).write_text(json.dumps(state))
    rehash(path, name)
    load_fails(path, f"{name} lacks the \\[EOS\\] token a Seq2SeqTranslator needs")


def test_a_ready_tokenizer_without_its_unknown_token_is_refused_by_fit(tiny_params):
    tokenizer = Tokenizer(models.WordLevel({"good": 0, "bad": 1}, unk_token="[UNK]"))
    clf = BiLSTMAttentionClassifier(**{**tiny_params, "tokenizer": tokenizer})
    with pytest.raises(ValueError, match=r"'tokenizer' parameter .* cannot encode every text"):
        clf.fit(["good", "bad"] * 4, [1, 0] * 4)


def test_the_intact_model_still_loads_identically(model, fitted, reviews):
    texts = reviews[1]["text"]
    np.testing.assert_array_equal(load(model).predict_proba(texts), fitted.predict_proba(texts))
    assert torch.equal(load(model).module_.head.weight, fitted.module_.head.weight)
