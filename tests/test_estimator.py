"""The fit lifecycle: checks before changes, the old model back after a failed fit,
checkpoints and resume, divergence, and the steps a subclass overrides."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from bilstm_attn import (
    BiLSTMAttentionClassifier,
    ModelFileError,
    Seq2SeqTranslator,
    TrainingDivergedError,
    TrainingInterruptedWarning,
    load,
)
from bilstm_attn.datasets import make_dates, make_reviews

SMALL = {**TINY, "max_epochs": 4}
PAIRS = make_dates(300, random_state=0)
PAIR_PARAMS = dict(hidden_size=16, embedding_dim=8, max_epochs=3, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def texts():
    frame = make_reviews(300, random_state=0)
    return list(frame["text"]), list(frame["label"])


def _snapshot(clf):
    """The fitted state a failed fit must leave exactly as it was."""
    fitted = {k: v for k, v in vars(clf).items() if k.endswith("_") and not k.startswith("_")}
    weights = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    return fitted, weights, [dict(r) for r in clf.history_]


def _assert_unchanged(clf, snapshot, texts):
    fitted, weights, history = snapshot
    now = {k: v for k, v in vars(clf).items() if k.endswith("_") and not k.startswith("_")}
    assert now.keys() == fitted.keys()
    assert all(now[k] is fitted[k] for k in fitted)  # the same objects, not copies
    for name, tensor in clf.module_.state_dict().items():
        assert torch.equal(tensor, weights[name]), name
    assert clf.history_ == history and not clf.module_.training
    assert clf.predict(texts[:5]).shape == (5,)


class FailingLoss(BiLSTMAttentionClassifier):
    """Raises (or returns NaN) from get_loss at one step of the fit, counted from 1."""

    fail_at = 1
    nan = False

    def get_loss(self, batch):
        loss = super().get_loss(batch)
        self._steps = getattr(self, "_steps", 0) + 1
        if self._steps == self.fail_at:
            if self.nan:
                return loss * float("nan")
            raise RuntimeError("the loss broke")
        return loss


class FailingTokenizers(BiLSTMAttentionClassifier):
    def initialize_tokenizers(self, texts):
        super().initialize_tokenizers(texts)  # tokenizer_ is set by now
        raise KeyboardInterrupt


def _failing_loss(fail_at, nan=False, **params):
    clf = FailingLoss(**SMALL, **params)
    clf.fail_at, clf.nan = fail_at, nan
    return clf


def _with_checkpoint(tmp_path, texts):
    BiLSTMAttentionClassifier(**SMALL, checkpoint_dir=tmp_path).fit(*texts)
    return BiLSTMAttentionClassifier(**{**SMALL, "hidden_size": 8}, checkpoint_dir=tmp_path)


# name: (estimator that fails given tmp_path and texts, error, message)
_FAILURES = {
    "no text left to train on": (
        lambda tmp_path, texts: BiLSTMAttentionClassifier(**SMALL, validation_fraction=0.999),
        ValueError,
        "leaves no text to train on",
    ),
    "every training weight zero": (
        lambda tmp_path, texts: BiLSTMAttentionClassifier(
            **SMALL, class_weight={"negative": 0.0, "positive": 0.0}
        ),
        ValueError,
        "leave every training text with weight 0",
    ),
    "a bad word vector file": (
        lambda tmp_path, texts: BiLSTMAttentionClassifier(
            **SMALL, pretrained_embeddings="no/such/vectors.txt"
        ),
        FileNotFoundError,
        "which is not a file",
    ),
    "Ctrl-C while the tokenizer trains": (
        lambda tmp_path, texts: FailingTokenizers(**SMALL),
        KeyboardInterrupt,
        None,
    ),
    "an error in the second epoch": (
        lambda tmp_path, texts: _failing_loss(12),
        RuntimeError,
        "the loss broke",
    ),
    "a loss that is not finite": (
        lambda tmp_path, texts: _failing_loss(3, nan=True),
        TrainingDivergedError,
        "epoch 1, batch 3 of 9 is nan, with learning_rate=0.01",
    ),
    "a checkpoint of other parameters": (
        _with_checkpoint,
        ValueError,
        r"its parameters differ \(hidden_size=16 there, 8 here\)",
    ),
}


def _failing(name, tmp_path, texts):
    make, error, message = _FAILURES[name]
    return make(tmp_path, texts), error, message


@pytest.mark.parametrize("name", list(_FAILURES))
def test_a_failed_first_fit_leaves_no_fitted_attribute(name, tmp_path, texts):
    estimator, error, message = _failing(name, tmp_path, texts)
    with pytest.raises(error, match=message):
        estimator.fit(*texts)
    assert not [k for k in vars(estimator) if k.endswith("_") and not k.startswith("_")]
    with pytest.raises(NotFittedError):
        estimator.predict(texts[0][:2])


@pytest.mark.parametrize("name", list(_FAILURES))
def test_a_failed_refit_keeps_the_previous_model(name, tmp_path, texts):
    estimator, error, message = _failing(name, tmp_path, texts)
    good = BiLSTMAttentionClassifier(**SMALL).fit(*texts)
    for key, value in vars(good).items():  # the good model, in the estimator that fails
        if key.endswith("_") and not key.startswith("_"):
            setattr(estimator, key, value)
    before, proba = _snapshot(estimator), estimator.predict_proba(texts[0])
    with pytest.raises(error, match=message):
        estimator.fit(*texts)
    _assert_unchanged(estimator, before, texts[0])
    np.testing.assert_array_equal(estimator.predict_proba(texts[0]), proba)


def test_a_failed_warm_start_puts_back_the_weights_it_trained_in_place(texts):
    clf = FailingLoss(**SMALL, warm_start=True, n_iter_no_change=None)
    clf.fail_at = 10**9
    clf.fit(*texts)
    before = _snapshot(clf)
    clf.fail_at = clf._steps + 12  # the second epoch of the next fit
    with pytest.raises(RuntimeError, match="the loss broke"):
        clf.fit(*texts)
    _assert_unchanged(clf, before, texts[0])
    labels = list(texts[1])
    labels[0] = "neutral"  # a class the fitted model does not know
    with pytest.raises(ValueError, match=r"labels \['neutral'\] that the fitted model"):
        clf.fit(texts[0], labels)
    _assert_unchanged(clf, before, texts[0])


def test_a_real_divergence_names_epoch_batch_and_learning_rate(texts):
    clf = BiLSTMAttentionClassifier(
        **{**SMALL, "learning_rate": 1e37}, grad_clip=None, average_decay=None
    )
    with pytest.raises(
        TrainingDivergedError,
        match=r"the training loss of epoch 1, batch \d of 9 is (nan|inf), with "
        r"learning_rate=1e\+37\. To train, lower learning_rate \(for example to 1e\+36\) "
        r"or clip the gradients",
    ):
        clf.fit(*texts)
    assert not hasattr(clf, "module_")
    assert issubclass(TrainingDivergedError, FloatingPointError)


def test_the_translator_keeps_its_model_too():
    tr = Seq2SeqTranslator(**PAIR_PARAMS).fit(PAIRS["source"], PAIRS["target"])
    module, history = tr.module_, list(tr.history_)
    predicted = tr.predict(PAIRS["source"][:5])
    with pytest.raises(ValueError, match="leaves no text to train on"):
        tr.set_params(validation_fraction=0.9999).fit(PAIRS["source"], PAIRS["target"])
    with pytest.raises(ValueError, match=r"no \[BOS\] token"):
        from bilstm_attn.text import build_tokenizer

        plain = build_tokenizer("word", list(PAIRS["target"]), min_frequency=1)
        tr.set_params(validation_fraction=0.05, target_tokenizer=plain).fit(
            PAIRS["source"], PAIRS["target"]
        )
    assert tr.module_ is module and tr.history_ == history
    assert tr.predict(PAIRS["source"][:5]) == predicted


# ---------------------------------------------------------------------- custom steps
def _readme_example(name: str) -> type:
    """The class ``name`` as the README's example defines it (the docs are what is tested)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"class {name}(")
    namespace = {"BiLSTMAttentionClassifier": BiLSTMAttentionClassifier}
    exec(readme[start : readme.index("```", start)], namespace)
    return namespace[name]


FocalLossClassifier = _readme_example("FocalLossClassifier")


def test_a_custom_loss_is_what_training_minimises(reviews):
    train, test = reviews
    params = {**SMALL, "max_epochs": 10, "learning_rate": 0.02}
    focal = FocalLossClassifier(**params).fit(train["text"], train["label"])
    plain = BiLSTMAttentionClassifier(**params).fit(train["text"], train["label"])
    assert focal.score(test["text"], test["label"]) > 0.85
    # the same start, another loss: the training losses differ from the first epoch on
    assert focal.history_[0]["train_loss"] != pytest.approx(plain.history_[0]["train_loss"])
    # and the recorded training loss is the focal loss, below cross-entropy's
    assert focal.history_[0]["train_loss"] < plain.history_[0]["train_loss"]
    assert type(clone(focal)) is FocalLossClassifier


def test_a_subclass_saves_and_loads_where_it_is_defined(tmp_path, texts):
    focal = FocalLossClassifier(**SMALL).fit(*texts)
    loaded = load(focal.save(tmp_path / "model"))
    assert type(loaded) is FocalLossClassifier
    np.testing.assert_array_equal(loaded.predict_proba(texts[0]), focal.predict_proba(texts[0]))


class MarginValidation(BiLSTMAttentionClassifier):
    def validation_step(self, batch):
        sums = super().validation_step(batch)
        logits = self.module_(batch.ids, batch.lengths).logits
        proba = logits.softmax(-1).gather(1, batch.targets[:, None]).squeeze(1)
        return {**sums, "gold_proba": proba.sum().item()}


def test_a_validation_step_without_its_count_says_so(texts):
    class NoCount(BiLSTMAttentionClassifier):
        def validation_step(self, batch):
            return {"loss": 0.0}

    with pytest.raises(ValueError, match=r"returned \['loss'\], without the 'count'"):
        NoCount(**SMALL).fit(*texts)


def test_a_custom_validation_step_adds_a_metric(texts):
    clf = MarginValidation(**SMALL).fit(*texts)
    assert all(0 < r["valid_gold_proba"] < 1 for r in clf.history_)
    assert set(clf.history_[0]) >= {"valid_loss", "valid_accuracy", "valid_gold_proba"}


def test_the_batch_a_loss_sees(texts):
    seen = []

    class Watching(BiLSTMAttentionClassifier):
        def get_loss(self, batch):
            seen.append(batch)
            return super().get_loss(batch)

    Watching(**{**SMALL, "max_epochs": 1}).fit(*texts, sample_weight=np.arange(300) % 3)
    batch = seen[0]
    assert batch.ids.dtype == torch.long and batch.ids.shape[0] == len(batch.lengths)
    assert int(batch.lengths.max()) == batch.ids.shape[1]
    assert batch.targets.dtype == torch.long and set(batch.targets.tolist()) <= {0, 1}
    total = torch.cat([b.weights for b in seen])
    assert total.mean().item() == pytest.approx(1.0, rel=1e-6)  # mean 1 over training texts


# ---------------------------------------------------------------------- checkpoints
class Interrupting(BiLSTMAttentionClassifier):
    """Presses Ctrl-C at training step ``stop_at`` (None: never); with ``forbid``, any
    training step fails."""

    stop_at: int | None = None
    forbid = False

    def get_loss(self, batch):
        assert not self.forbid, "trained again"
        self._steps = getattr(self, "_steps", 0) + 1
        if self._steps == self.stop_at:
            raise KeyboardInterrupt
        return super().get_loss(batch)


@pytest.mark.parametrize("lr_schedule", ["constant", "warmup_linear"])
def test_ctrl_c_then_fit_again_resumes_and_ends_like_an_uninterrupted_fit(
    tmp_path, texts, lr_schedule
):
    params = {**SMALL, "max_epochs": 5, "n_iter_no_change": None, "lr_schedule": lr_schedule}
    whole = BiLSTMAttentionClassifier(**params).fit(*texts)
    interrupted = Interrupting(**params, checkpoint_dir=tmp_path)
    interrupted.stop_at = 21  # in the third epoch (9 batches an epoch)
    with pytest.warns(TrainingInterruptedWarning, match="during epoch 3"):
        interrupted.fit(*texts)
    saved = json.loads((tmp_path / "checkpoint.json").read_text())
    assert saved["loop"]["epoch"] == 2
    resumed = Interrupting(**params, checkpoint_dir=tmp_path).fit(*texts)
    np.testing.assert_array_equal(resumed.predict_proba(texts[0]), whole.predict_proba(texts[0]))
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history_]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in whole.history_]
    assert resumed.best_epoch_ == whole.best_epoch_
    assert resumed._steps == 3 * 9  # epochs 3 to 5 only
    # only JSON, safetensors and tokenizer.json: nothing to unpickle
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".json", ".safetensors"]


def test_a_finished_checkpoint_gives_its_model_back_without_training(tmp_path, texts):
    first = Interrupting(**SMALL, checkpoint_dir=tmp_path).fit(*texts)
    again = Interrupting(**SMALL, checkpoint_dir=tmp_path)
    again.forbid = True
    again.fit(*texts)
    np.testing.assert_array_equal(again.predict_proba(texts[0]), first.predict_proba(texts[0]))
    assert again.history_ == first.history_ and again.best_epoch_ == first.best_epoch_


def test_a_checkpoint_of_other_data_or_parameters_is_an_error(tmp_path, texts):
    BiLSTMAttentionClassifier(**SMALL, checkpoint_dir=tmp_path).fit(*texts)
    with pytest.raises(ValueError, match="it was trained on other data"):
        BiLSTMAttentionClassifier(**SMALL, checkpoint_dir=tmp_path).fit(texts[0][1:], texts[1][1:])
    with pytest.raises(ValueError, match="it was trained on other data"):
        BiLSTMAttentionClassifier(**SMALL, checkpoint_dir=tmp_path).fit(
            *texts, sample_weight=np.full(300, 2.0)
        )
    with pytest.raises(ValueError, match=r"max_epochs=4 there, 5 here.*Use another checkpoint"):
        BiLSTMAttentionClassifier(**{**SMALL, "max_epochs": 5}, checkpoint_dir=tmp_path).fit(*texts)
    with pytest.raises(ValueError, match="of a BiLSTMAttentionClassifier, not a Seq2SeqTranslator"):
        Seq2SeqTranslator(checkpoint_dir=tmp_path).fit(PAIRS["source"], PAIRS["target"])
    (tmp_path / "checkpoint.json").write_text("{not json")
    with pytest.raises(ModelFileError, match=r"checkpoint\.json is not valid JSON.*Delete the"):
        BiLSTMAttentionClassifier(**SMALL, checkpoint_dir=tmp_path).fit(*texts)
    file = tmp_path / "a_file"
    file.write_text("")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        BiLSTMAttentionClassifier(**SMALL, checkpoint_dir=file).fit(*texts)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"tokenizers": {"predict_proba": "tokenizer.json"}}, "a tokenizer 'predict_proba'"),
        ({"tokenizers": {"tokenizer_": "../tokenizer.json"}}, "records no sha256"),
        ({"files": {"/etc/passwd": "0" * 64}}, "records no sha256"),
        ({"tensors": "../elsewhere.safetensors"}, "records no sha256 for its tensors"),
    ],
)
def test_a_checkpoint_names_only_its_own_files_and_attributes(tmp_path, texts, edit, message):
    BiLSTMAttentionClassifier(**SMALL, checkpoint_dir=tmp_path).fit(*texts)
    path = tmp_path / "checkpoint.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps({**config, **edit}))
    with pytest.raises(ModelFileError, match=message):
        BiLSTMAttentionClassifier(**SMALL, checkpoint_dir=tmp_path).fit(*texts)
    config["files"]["../../x.json"] = "0" * 64
    path.write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"names '\.\./\.\./x\.json', not a file of"):
        BiLSTMAttentionClassifier(**SMALL, checkpoint_dir=tmp_path).fit(*texts)


def test_an_edited_file_a_parameter_names_is_other_parameters(tmp_path, texts):
    from bilstm_attn.text import build_tokenizer

    path = tmp_path / "tokenizer.json"
    build_tokenizer("word", texts[0], min_frequency=1).save(str(path))
    params = {**SMALL, "tokenizer": str(path), "checkpoint_dir": tmp_path / "checkpoint"}
    BiLSTMAttentionClassifier(**params).fit(*texts)
    build_tokenizer("wordpiece", texts[0], vocab_size=300).save(str(path))  # the same name
    with pytest.raises(ValueError, match=r"its parameters differ \(tokenizer="):
        BiLSTMAttentionClassifier(**params).fit(*texts)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.pop("loop"), "lacks loop"),
        (lambda c: c.update(seed="7"), "lacks a valid seed"),
        (lambda c: c.update(bilstm_attn="0.0.1"), "written by bilstm_attn 0.0.1, and this is"),
        (lambda c: c["loop"].pop("stopper"), "does not hold this fit's state"),
        (lambda c: c["optimizer"].update(param_groups=[]), "does not hold this fit's state"),
    ],
)
def test_a_broken_checkpoint_is_a_model_file_error(tmp_path, texts, edit, message):
    good = BiLSTMAttentionClassifier(**SMALL).fit(*texts)
    interrupted = Interrupting(**SMALL, checkpoint_dir=tmp_path)
    interrupted.stop_at = 12  # a checkpoint of epoch 1 to resume from
    with pytest.warns(TrainingInterruptedWarning):
        interrupted.fit(*texts)
    path = tmp_path / "checkpoint.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))
    resumer = Interrupting(**SMALL, checkpoint_dir=tmp_path)
    for key, value in vars(good).items():  # a fitted model that must survive
        if key.endswith("_") and not key.startswith("_"):
            setattr(resumer, key, value)
    with pytest.raises(ModelFileError, match=message):
        resumer.fit(*texts)
    assert resumer.module_ is good.module_ and resumer.history_ == good.history_


def test_an_empty_checkpoint_dir_is_refused(texts):
    with pytest.raises(ValueError, match="checkpoint_dir must name a directory; got an empty"):
        BiLSTMAttentionClassifier(**SMALL, checkpoint_dir="").fit(*texts)


def test_search_settings_of_the_translator_do_not_stop_a_resume(tmp_path):
    src, tgt = PAIRS["source"], PAIRS["target"]
    first = Seq2SeqTranslator(**PAIR_PARAMS, checkpoint_dir=tmp_path).fit(src, tgt)
    again = Seq2SeqTranslator(**PAIR_PARAMS, checkpoint_dir=tmp_path, beam_size=3)
    again.set_params(metric="exact", max_output_length=20).fit(src, tgt)
    assert again.history_ == first.history_  # the finished fit, given back


def test_warm_start_and_a_checkpoint_do_not_mix(tmp_path, texts):
    clf = BiLSTMAttentionClassifier(**SMALL, warm_start=True).fit(*texts)
    with pytest.raises(ValueError, match="Set one of them: checkpoint_dir=None, or warm_start"):
        clf.set_params(checkpoint_dir=tmp_path).fit(*texts)


def test_the_translator_resumes_too(tmp_path):
    class Interrupted(Seq2SeqTranslator):
        stop_at = None

        def get_loss(self, batch):
            self._steps = getattr(self, "_steps", 0) + 1
            if self._steps == self.stop_at:
                raise KeyboardInterrupt
            return super().get_loss(batch)

    src, tgt = PAIRS["source"], PAIRS["target"]
    whole = Seq2SeqTranslator(**PAIR_PARAMS).fit(src, tgt)
    interrupted = Interrupted(**PAIR_PARAMS, checkpoint_dir=tmp_path)
    interrupted.stop_at = 12  # in the second epoch (9 batches an epoch)
    with pytest.warns(TrainingInterruptedWarning, match="during epoch 2"):
        interrupted.fit(src, tgt)
    resumed = Interrupted(**PAIR_PARAMS, checkpoint_dir=tmp_path).fit(src, tgt)
    assert resumed._steps == 2 * 9
    assert resumed.predict(src[:50]) == whole.predict(src[:50])
    for a, b in zip(resumed.history_, whole.history_, strict=True):
        assert a["valid_loss"] == b["valid_loss"]


_KILLED_FIT = """
import os, signal, sys
import numpy as np, torch
torch.set_num_threads(1)
from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import make_reviews

class KilledInEpoch3(BiLSTMAttentionClassifier):
    def get_loss(self, batch):
        self._steps = getattr(self, "_steps", 0) + 1
        if self._steps == 23 and os.environ.get("KILL") == "1":  # epoch 3 of 9 batches
            os.kill(os.getpid(), signal.SIGKILL)
        return super().get_loss(batch)

frame = make_reviews(300, random_state=0)
params = dict(embedding_dim=16, hidden_size=16, min_frequency=1, batch_size=32,
              learning_rate=0.01, max_epochs=5, random_state=0, tokenizer=sys.argv[3])
directory = None if sys.argv[1] == "-" else sys.argv[1]
clf = KilledInEpoch3(**params, checkpoint_dir=directory).fit(frame["text"], frame["label"])
np.save(sys.argv[2], clf.predict_proba(frame["text"]))
"""


@pytest.mark.parametrize("tokenizer", ["wordpiece"])
def test_killed_with_sigkill_and_resumed_equals_an_uninterrupted_fit(tmp_path, tokenizer):
    def fit(directory, out, kill):
        env = {**os.environ, "KILL": "1" if kill else "0", "OMP_NUM_THREADS": "1"}
        return subprocess.run(
            [sys.executable, "-c", _KILLED_FIT, str(directory), str(out), tokenizer],
            env=env,
            capture_output=True,
            text=True,
        )

    checkpoints = tmp_path / "checkpoints"
    killed = fit(checkpoints, tmp_path / "killed.npy", kill=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert json.loads((checkpoints / "checkpoint.json").read_text())["loop"]["epoch"] == 2
    resumed = fit(checkpoints, tmp_path / "resumed.npy", kill=False)
    assert resumed.returncode == 0, resumed.stderr
    whole = fit("-", tmp_path / "whole.npy", kill=False)
    assert whole.returncode == 0, whole.stderr
    resumed, whole = np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "whole.npy")
    np.testing.assert_array_equal(resumed, whole)
    assert not Path(tmp_path / "killed.npy").exists()


def test_a_checkpoint_from_before_the_precision_parameter_resumes_as_fp32(tmp_path, texts):
    """A checkpoint.json without the parameters added since compares as what it trained
    with: float32 at a constant rate."""
    params = {**SMALL, "max_epochs": 3, "n_iter_no_change": None, "precision": "fp32"}
    interrupted = Interrupting(**params, checkpoint_dir=tmp_path)
    interrupted.stop_at = 12  # in the second epoch
    with pytest.warns(TrainingInterruptedWarning):
        interrupted.fit(*texts)
    path = tmp_path / "checkpoint.json"
    config = json.loads(path.read_text())
    del config["params"]["precision"], config["params"]["lr_schedule"]
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="precision='fp32' there, 'auto' here"):
        Interrupting(**{**params, "precision": "auto"}, checkpoint_dir=tmp_path).fit(*texts)
    resumed = Interrupting(**params, checkpoint_dir=tmp_path).fit(*texts)
    assert len(resumed.history_) == 3
