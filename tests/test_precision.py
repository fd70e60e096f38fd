"""precision="auto" | "fp32" | "bf16": what each picks, computes and records.

Both paths run on every machine: bf16 autocast works on any CPU (without native bf16
units oneDNN converts in software; an LSTM runs in float32 where oneDNN has no bf16
kernel for it), only slower.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

import bilstm_attn._precision as precision_module
from bilstm_attn import BiLSTMAttentionClassifier, Seq2SeqTranslator, load
from bilstm_attn._precision import autocast, has_native_bf16, resolve_precision
from bilstm_attn.nn import run_rnn

# bfloat16 keeps 8 significant bits: one rounding is off by up to 2**-9 relative. A tiny
# model's probability goes through an embedding, a recurrent layer over a few steps,
# attention and a linear head, each rounding its inputs; 0.03 absolute on a probability
# is several times what that compounds to, and far below the gap between a trained
# model's classes on these texts.
BF16_PROBABILITY = 0.03

TEXTS = ["a wonderful film", "an awful film", "wonderful acting", "awful acting"] * 10
LABELS = ["pos", "neg", "pos", "neg"] * 10


def _classifier(**params) -> BiLSTMAttentionClassifier:
    settings = dict(
        hidden_size=8, embedding_dim=8, max_epochs=4, min_frequency=1, learning_rate=0.02
    )
    settings.update(random_state=0, validation_fraction=0.25)
    settings.update(params)
    return BiLSTMAttentionClassifier(**settings)


@pytest.fixture
def native_bf16(monkeypatch):
    """``native_bf16(True)`` makes this process's CPU report native bf16 units."""

    def set_units(present: bool) -> None:
        monkeypatch.setattr(precision_module, "_cpu_has_native_bf16", lambda: present)

    return set_units


class _AutocastSpy:
    """Records whether CPU autocast was on at each call of a module's forward."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.seen: list[bool] = []
        self.handle = module.register_forward_pre_hook(self._record)

    def _record(self, module, args) -> None:
        self.seen.append(torch.is_autocast_enabled("cpu"))

    def take(self) -> set[bool]:
        seen, self.seen = set(self.seen), []
        return seen


def test_auto_follows_the_cpus_bf16_units_as_torch_reports_them():
    capabilities = torch.cpu.get_capabilities()
    units = bool(capabilities.get("amx_bf16") or capabilities.get("avx512_bf16"))
    cpu = torch.device("cpu")
    assert has_native_bf16(cpu) is units
    assert resolve_precision("auto", cpu) == ("bf16" if units else "fp32")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("auto", torch.device("meta")) == "fp32"


@pytest.mark.parametrize(("units", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_trains_in_what_the_cpu_has_and_history_says_so(native_bf16, units, expected):
    native_bf16(units)
    clf = _classifier().fit(TEXTS, LABELS)
    assert [record["precision"] for record in clf.history_] == [expected] * len(clf.history_)
    assert all(p.dtype == torch.float32 for p in clf.module_.parameters())


def test_each_stage_computes_in_its_precision(native_bf16):
    """Training, validation and prediction under autocast where "auto" picks bf16;
    every explanation path and predict_proba_ids without it."""
    native_bf16(True)
    clf = _classifier()
    seen: list[bool] = []
    original = BiLSTMAttentionClassifier.get_loss

    def get_loss(self, batch):
        seen.append(torch.is_autocast_enabled("cpu"))
        return original(self, batch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BiLSTMAttentionClassifier, "get_loss", get_loss)
        clf.fit(TEXTS, LABELS)
    assert set(seen) == {True}
    spy = _AutocastSpy(clf.module_)
    clf.predict_proba(TEXTS[:4])
    clf.predict(TEXTS[:4])
    clf.transform(TEXTS[:4])
    assert spy.take() == {True}
    ids = [e.ids for e in clf.encode(TEXTS[:4])]
    clf.predict_proba_ids(ids)
    clf.proba_and_attention(ids)
    clf.attention_weights(TEXTS[:4])
    assert spy.take() == {False}
    clf.set_params(precision="fp32")
    clf.predict_proba(TEXTS[:4])
    assert spy.take() == {False}


def test_prediction_resolves_auto_on_the_machine_it_runs_on(native_bf16, tmp_path):
    native_bf16(False)
    clf = _classifier().fit(TEXTS, LABELS)
    assert clf.history_[-1]["precision"] == "fp32"
    clf.save(tmp_path / "model")
    native_bf16(True)  # the same model on a CPU with the units
    loaded = load(tmp_path / "model")
    assert loaded.precision == "auto"
    spy = _AutocastSpy(loaded.module_)
    loaded.predict_proba(TEXTS[:4])
    assert spy.take() == {True}
    assert loaded.history_ == clf.history_


def test_bf16_predictions_agree_with_fp32_to_bf16_rounding():
    clf = _classifier(max_epochs=15, validation_fraction=None).fit(TEXTS, LABELS)
    full = clf.predict_proba(TEXTS[:4])
    assert np.abs(full[:, 0] - full[:, 1]).min() > 0.2  # a trained model, classes apart
    clf.set_params(precision="bf16")
    reduced = clf.predict_proba(TEXTS[:4])
    np.testing.assert_allclose(reduced.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(reduced, full, atol=BF16_PROBABILITY)
    assert clf.predict(TEXTS[:4]).tolist() == LABELS[:4]
    assert clf.transform(TEXTS[:4]).dtype == np.float64


def test_explanations_are_float32_in_every_precision():
    """The same fitted weights explained under "bf16" and "fp32": the same float32
    computation, so the same numbers."""
    clf = _classifier().fit(TEXTS, LABELS)
    found = {}
    for precision in ("fp32", "bf16"):
        clf.set_params(precision=precision)
        explained = clf.explain(TEXTS[:3], "integrated_gradients", n_steps=8)
        attention = clf.attention_weights(TEXTS[:3])
        ids = clf.predict_proba_ids([e.ids for e in clf.encode(TEXTS[:3])])
        found[precision] = ([e.weights for e in explained], attention, ids)
    for full, reduced in zip(found["fp32"], found["bf16"]):
        for a, b in zip(full, reduced):
            np.testing.assert_array_equal(a, b)


def test_bf16_training_keeps_float32_state_and_learns():
    clf = _classifier(precision="bf16", max_epochs=15, validation_fraction=None).fit(TEXTS, LABELS)
    assert {record["precision"] for record in clf.history_} == {"bf16"}
    assert all(p.dtype == torch.float32 for p in clf.module_.parameters())
    losses = [record["train_loss"] for record in clf.history_]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert clf.predict(TEXTS[:4]).tolist() == LABELS[:4]


def test_the_network_gives_float32_logits_and_weights_under_bf16_autocast():
    clf = _classifier(max_epochs=1).fit(TEXTS, LABELS)
    ids = torch.tensor([[3, 4, 5], [3, 4, 0]])
    lengths = torch.tensor([3, 2])
    with torch.inference_mode(), autocast("bf16", torch.device("cpu")):
        out = clf.module_(ids, lengths)
    assert out.logits.dtype == torch.float32
    assert out.weights.dtype == torch.float32
    torch.testing.assert_close(out.weights.sum(-1), torch.ones(2, 1))


def test_autocast_fp32_turns_a_callers_autocast_off():
    with torch.autocast("cpu", dtype=torch.bfloat16), autocast("fp32", torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


@pytest.mark.parametrize("rnn_cls", [torch.nn.LSTM, torch.nn.GRU])
def test_run_rnn_runs_under_bf16_autocast_on_any_cpu(rnn_cls):
    torch.manual_seed(0)
    rnn = rnn_cls(4, 6)
    x = torch.randn(5, 3, 4)
    expected, _ = rnn(x)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        found, _ = run_rnn(rnn, x)
    # States are tanh outputs in (-1, 1): bf16 rounding over five steps stays far
    # below 0.05.
    torch.testing.assert_close(found.float(), expected.detach(), atol=0.05, rtol=0)


@pytest.mark.parametrize("decoder", ["bahdanau", "luong"])
def test_translator_trains_and_searches_in_bf16(decoder):
    src = ["one two", "two one", "one one", "two two"] * 10
    tgt = ["1 2", "2 1", "1 1", "2 2"] * 10
    translator = Seq2SeqTranslator(
        tokenizer="word", hidden_size=16, embedding_dim=8, max_epochs=40, learning_rate=0.01,
        decoder=decoder, validation_fraction=None, random_state=0, precision="bf16",
    )  # fmt: skip
    translator.fit(src, tgt)
    assert {record["precision"] for record in translator.history_} == {"bf16"}
    assert all(p.dtype == torch.float32 for p in translator.module_.parameters())
    assert translator.predict(["two one", "one two"]) == ["2 1", "1 2"]
    translator.set_params(beam_size=3)
    translation = translator.translate("two one")
    assert translation.text == "2 1"
    assert translation.attention.dtype.kind == "f"  # numbers, not bf16 objects
    np.testing.assert_allclose(translation.attention.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("units", [True, False])
def test_the_translators_auto_is_fp32_on_any_cpu(native_bf16, capsys, units):
    native_bf16(units)
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu, bf16_on_cpu=False) == "fp32"
    assert resolve_precision("bf16", cpu, bf16_on_cpu=False) == "bf16"
    translator = Seq2SeqTranslator(
        tokenizer="word", hidden_size=8, embedding_dim=8, max_epochs=1, verbose=1,
        validation_fraction=None, random_state=0, device="cpu",
    )  # fmt: skip
    translator.fit(["one two", "two one"] * 4, ["1 2", "2 1"] * 4)
    assert [record["precision"] for record in translator.history_] == ["fp32"]
    assert translator._prediction_precision() == "fp32"
    assert "training in fp32 (precision='auto': fp32 on a CPU for this estimator)" in (
        capsys.readouterr().out
    )


def test_config_json_records_the_precision(tmp_path):
    clf = _classifier(precision="bf16").fit(TEXTS, LABELS)
    path = clf.save(tmp_path / "model")
    config = json.loads((path / "config.json").read_text())
    assert config["params"]["precision"] == "bf16"
    assert {record["precision"] for record in config["fitted"]["history"]} == {"bf16"}
    loaded = load(path)
    assert loaded.precision == "bf16"
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS[:4]), clf.predict_proba(TEXTS[:4]))


def test_a_model_saved_before_precision_existed_loads_as_fp32(tmp_path):
    path = _classifier().fit(TEXTS, LABELS).save(tmp_path / "model")
    config = json.loads((path / "config.json").read_text())
    del config["params"]["precision"]
    for record in config["fitted"]["history"]:
        del record["precision"]
    (path / "config.json").write_text(json.dumps(config))
    assert load(path).precision == "fp32"


@pytest.mark.parametrize("value", ["fp16", "BF16", "float32", None, 16, True])
@pytest.mark.parametrize("estimator", [BiLSTMAttentionClassifier, Seq2SeqTranslator])
def test_an_unknown_precision_is_refused_by_name(estimator, value):
    model = estimator(precision=value)
    with pytest.raises(InvalidParameterError, match="'precision' parameter"):
        model.fit(["a b", "b a"], ["a", "b"])


@pytest.mark.parametrize(
    ("precision", "units", "said"),
    [
        ("bf16", False, "training in bf16\n"),
        ("fp32", True, "training in fp32\n"),
        ("auto", True, "training in bf16 (precision='auto': this CPU has native bf16 units)"),
        ("auto", False, "training in fp32 (precision='auto': this CPU has no native bf16 units)"),
    ],
)
def test_a_verbose_fit_says_its_precision_once(capsys, native_bf16, precision, units, said):
    native_bf16(units)
    _classifier(precision=precision, max_epochs=2, verbose=1).fit(TEXTS, LABELS)
    out = capsys.readouterr().out
    assert out.count("training in") == 1 and said in out
    epochs = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(epochs) == 2 and not any("precision" in line for line in epochs)


def test_the_first_bf16_fit_of_a_process_is_the_same_as_a_later_one():
    """The one-off probe of the CPU's bf16 LSTM kernel runs in the middle of the first
    seeded fit; it must draw nothing from torch's generator."""
    script = """
import torch
from bilstm_attn import BiLSTMAttentionClassifier
X = ["a wonderful film", "an awful film", "wonderful acting", "awful acting"] * 10
y = ["pos", "neg", "pos", "neg"] * 10
fits = [
    BiLSTMAttentionClassifier(hidden_size=8, embedding_dim=8, max_epochs=2, min_frequency=1,
                              random_state=0, precision="bf16").fit(X, y)
    for _ in range(2)
]
a, b = (dict(clf.module_.state_dict()) for clf in fits)
print(all(torch.equal(a[k], b[k]) for k in a))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "True", done.stdout + done.stderr
