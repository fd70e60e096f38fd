"""Checkpoints of a fit in progress: written after every epoch, resumed by the next ``fit``.

With ``checkpoint_dir`` set, after every epoch the directory holds

- ``checkpoint.json``: the parameters and a sha256 of the training data it belongs to,
  the seed of the fit, the fitted state that is not a tensor (classes, history), the
  state of early stopping, of the weight average, of the optimizer and of the random
  generator of the batches, and the sha256 of every other file;
- ``checkpoint-NNNN.safetensors`` (NNNN: the epoch): the network's weights, the best
  weights so far, the weight average, the optimizer's tensors and torch's random state;
- the fitted tokenizers (``tokenizer.json``, ...), as ``save`` writes them.

Every file is written to a temporary name, flushed to disk and renamed, and
``checkpoint.json`` last: a fit killed at any moment leaves the checkpoint of its last
complete epoch. Nothing is pickled. ``fit`` on the same data with the same parameters
resumes from it; other data or parameters are an error, never a silent restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
from safetensors import SafetensorError
from tokenizers import Tokenizer

from bilstm_attn._files import atomic_path, file_sha256, read_json_object
from bilstm_attn._model_dir import is_plain_name
from bilstm_attn._version import __version__
from bilstm_attn.exceptions import ModelFileError
from bilstm_attn.text import load_tokenizer
from bilstm_attn.training import EarlyStopping, LoopState, ParameterAverage

__all__ = ["Checkpoint", "CheckpointWriter", "FitIdentity", "read_checkpoint"]

CONFIG = "checkpoint.json"
FORMAT = "bilstm-attn checkpoint"
FORMAT_VERSION = 1
_TENSORS = re.compile(r"checkpoint-\d+\.safetensors")
_REQUIRED = "seed params data_sha256 tensors files tokenizers fitted loop optimizer rng".split()
# Parameters that do not change what a fit computes (an estimator adds its own, such as
# the translator's search settings, in _INFERENCE_PARAMS).
_NOT_COMPARED = {"checkpoint_dir", "verbose", "warm_start"}


def _describe(value: object) -> object:
    """A JSON value that tells parameter values apart (for comparing, not rebuilding).

    A file that a parameter names (a ``tokenizer.json``, a word-vector file) is told
    apart by its contents too, so an edited file does not resume an old fit.
    """
    if isinstance(value, Tokenizer):
        return {"tokenizer_sha256": hashlib.sha256(value.to_str().encode()).hexdigest()}
    if isinstance(value, (str, os.PathLike)) and os.path.isfile(value):
        return {"file": os.fspath(value), "sha256": file_sha256(Path(value))}
    if isinstance(value, np.random.RandomState):
        return {"RandomState": True}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {"items": sorted([repr(k), _describe(v)] for k, v in value.items())}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _params(estimator) -> dict[str, object]:
    params = estimator.get_params(deep=False)
    ignored = _NOT_COMPARED | set(getattr(estimator, "_INFERENCE_PARAMS", ()))
    return {name: _describe(v) for name, v in sorted(params.items()) if name not in ignored}


def _digest(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(8, "little"))
        digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FitIdentity:
    """What a checkpoint must match: the parameters (files they name by their contents)
    and the sha256 of the training data. Made once per fit; hashing both reads every text
    and every file a parameter names."""

    params: dict[str, object]
    data_sha256: str

    @classmethod
    def of(cls, estimator, fingerprint: Iterable[bytes]) -> FitIdentity:
        return cls(_params(estimator), _digest(fingerprint))


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _fail(directory: Path, problem: str) -> ModelFileError:
    return ModelFileError(
        f"Cannot resume from the checkpoint in checkpoint_dir={os.fspath(directory)!r}: "
        f"{problem} Delete the directory (or choose another checkpoint_dir) to train anew."
    )


class Checkpoint:
    """A checkpoint read from disk and found to belong to this fit."""

    def __init__(self, directory: Path, config: dict[str, Any], tensors: dict) -> None:
        self.directory = directory
        self.config = config
        self.tensors = tensors
        self.seed = config["seed"]

    def _broken(self, error: Exception) -> ModelFileError:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return _fail(self.directory, f"it does not hold this fit's state ({first}).")

    def _part(self, prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in self.tensors.items() if k.startswith(prefix)}

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn whatever a broken entry raises into a ModelFileError that says so."""
        try:
            yield
        except Exception as error:  # tokenizers raises a bare Exception on a bad file
            raise self._broken(error) from error

    def restore_fitted(self, estimator) -> None:
        """Set the estimator's tokenizers, fitted state and network as they were saved."""
        with self._reading():
            loaded: dict[str, Tokenizer] = {}
            attributes = set(estimator._TOKENIZER_PARAMS.values())
            for attribute, filename in self.config["tokenizers"].items():
                if attribute not in attributes or not is_plain_name(filename):
                    raise ValueError(f"'tokenizers' names {attribute!r}: {filename!r}")
                if filename not in loaded:
                    loaded[filename] = load_tokenizer(self.directory / filename)
                setattr(estimator, attribute, loaded[filename])
            estimator._restore_fitted(self.config["fitted"])
            module = estimator._loaded_module()
            module.load_state_dict(self._part("module."), strict=True)
            estimator.module_ = module

    def restore_training(
        self,
        module: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        rng: np.random.Generator,
        device: torch.device,
    ) -> LoopState:
        """Put the optimizer and random generators where they were; the loop's state.

        The checkpoint's tensors are let go of once they are in place.
        """
        try:
            with self._reading():
                loop = self.config["loop"]
                state = self.config["optimizer"]
                tensors = self._part("optimizer.")
                per_param: dict[int, dict[str, Any]] = {}
                for key, value in tensors.items():
                    index, name = key.split(".", 1)
                    per_param.setdefault(int(index), {})[name] = value
                for index, values in state["scalars"].items():
                    per_param.setdefault(int(index), {}).update(values)
                optimizer.load_state_dict(
                    {"state": per_param, "param_groups": state["param_groups"]}
                )
                rng.bit_generator.state = self.config["rng"]["numpy"]
                torch.set_rng_state(self.tensors["rng.torch"])
                if device.type == "cuda" and "rng.cuda" in self.tensors:
                    torch.cuda.set_rng_state(self.tensors["rng.cuda"], device)
                saved = loop["stopper"]
                stopper = EarlyStopping(saved["patience"], saved["tol"])
                stopper.best_loss = float(saved["best_loss"])
                stopper.best_epoch = saved["best_epoch"]
                stopper.bad_epochs = int(saved["bad_epochs"])
                stopper.should_stop = bool(saved["should_stop"])
                best = self._part("best.")
                stopper.best_state = best or None
                average = None
                if loop["average"] is not None:
                    average = ParameterAverage(module, float(loop["average"]["decay"]))
                    average.steps = int(loop["average"]["steps"])
                    averages = self._part("average.")
                    for i, tensor in enumerate(average.averages):
                        tensor.copy_(averages[str(i)])
                return LoopState(int(loop["epoch"]), int(loop["first_record"]), stopper, average)
        finally:
            self.tensors = {}


def read_checkpoint(
    estimator, directory: str | os.PathLike, identity: FitIdentity
) -> Checkpoint | None:
    """The checkpoint in ``directory`` if there is one, checked against this fit.

    Raises ``ValueError`` when it belongs to other data or parameters, and
    ``ModelFileError`` when it cannot be read; returns None when there is none.
    """
    if not os.fspath(directory).strip():
        raise ValueError("checkpoint_dir must name a directory; got an empty string.")
    if "\0" in os.fspath(directory):
        raise ValueError(
            f"checkpoint_dir={os.fspath(directory)!r} holds a NUL character, which no "
            f"directory name can hold."
        )
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"checkpoint_dir={os.fspath(directory)!r} is a file, not a directory.")
    existing = next(p for p in (directory, *directory.absolute().parents) if p.exists())
    if not os.access(existing, os.W_OK):
        raise ValueError(
            f"checkpoint_dir={os.fspath(directory)!r} cannot be written: {os.fspath(existing)!r} "
            f"is not writable. Choose a directory you can write to."
        )
    path = directory / CONFIG
    if not path.is_file():
        return None
    config = read_json_object(path, FORMAT, "bilstm_attn", lambda what: _fail(directory, what))
    if config.get("format_version") != FORMAT_VERSION:
        raise _fail(directory, f"{CONFIG} has format {config.get('format_version')!r}.")
    if config.get("bilstm_attn") != __version__:
        raise _fail(
            directory,
            f"it was written by bilstm_attn {config.get('bilstm_attn')}, and this is "
            f"{__version__}; a fit resumes with the version that began it.",
        )
    missing = [key for key in _REQUIRED if key not in config]
    if missing or not isinstance(config.get("seed"), int):
        raise _fail(directory, f"{CONFIG} lacks {', '.join(missing) or 'a valid seed'}.")
    _check_belongs(estimator, directory, config, identity)
    _check_names(estimator, directory, config)
    try:
        for name, digest in config["files"].items():
            if file_sha256(directory / name) != digest:
                raise _fail(directory, f"{name} is corrupt: its sha256 is not the one recorded.")
        tensors = safetensors.torch.load_file(os.fspath(directory / config["tensors"]))
    except (KeyError, TypeError, OSError, SafetensorError) as error:
        raise _fail(directory, f"a file is missing or unreadable ({error}).") from None
    return Checkpoint(directory, config, tensors)


def _check_belongs(estimator, directory: Path, config: dict, identity: FitIdentity) -> None:
    owner = type(estimator).__name__
    where = f"checkpoint_dir={os.fspath(directory)!r} holds a checkpoint of another fit"
    fix = (
        "Use another checkpoint_dir, or delete that one to train anew (each fit needs its "
        "own: under cross-validation or a grid search, leave checkpoint_dir=None)."
    )
    if config.get("estimator") != owner:
        raise ValueError(f"{where}: of a {config.get('estimator')}, not a {owner}. {fix}")
    saved, ours = config.get("params", {}), identity.params
    if isinstance(saved, dict):  # parameters added since: what such a checkpoint trained with
        added = getattr(estimator, "_ADDED_PARAMS", {})
        saved = {**{k: _describe(v) for k, v in added.items() if k in ours}, **saved}
    differ = [name for name in sorted(set(saved) | set(ours)) if saved.get(name) != ours.get(name)]
    if differ:
        listed = ", ".join(
            f"{name}={saved.get(name)!r} there, {ours.get(name)!r} here" for name in differ[:5]
        )
        raise ValueError(f"{where}: its parameters differ ({listed}). {fix}")
    if config.get("data_sha256") != identity.data_sha256:
        raise ValueError(f"{where}: it was trained on other data (X, y or sample_weight). {fix}")


_PLAIN = re.compile(r"[\w.-]+")


def _check_names(estimator, directory: Path, config: dict) -> None:
    """Every file named is a plain name in the directory with a recorded sha256, and the
    tokenizers go to attributes this estimator has."""
    files = config.get("files")
    tokenizers = config.get("tokenizers")
    if not isinstance(files, dict) or not isinstance(tokenizers, dict):
        raise _fail(directory, f"{CONFIG} lacks its list of files.")
    attributes = set(estimator._TOKENIZER_PARAMS.values())
    for attribute, filename in tokenizers.items():
        if attribute not in attributes:
            raise _fail(directory, f"{CONFIG} names a tokenizer {attribute!r} it cannot have.")
        if filename not in files:
            raise _fail(directory, f"{CONFIG} records no sha256 for {filename!r}.")
    if config.get("tensors") not in files:
        raise _fail(directory, f"{CONFIG} records no sha256 for its tensors.")
    for name in files:
        if not isinstance(name, str) or not _PLAIN.fullmatch(name) or name.startswith("."):
            raise _fail(directory, f"{CONFIG} names {name!r}, not a file of the directory.")


class CheckpointWriter:
    """Writes the checkpoint of a fit after every epoch (see the module docstring)."""

    def __init__(self, estimator, directory: str | os.PathLike, identity: FitIdentity) -> None:
        self.estimator = estimator
        self.directory = Path(directory)
        self.params = identity.params
        self.data_sha256 = identity.data_sha256
        self.tokenizer_files: dict[str, str] | None = None

    def _write_tokenizers(self) -> dict[str, str]:
        files = {}
        for attribute, filename in self.estimator._tokenizer_files().items():
            if filename not in files:
                with atomic_path(self.directory / filename) as temporary:
                    getattr(self.estimator, attribute).save(os.fspath(temporary))
                    _flush(temporary)
                files[filename] = file_sha256(self.directory / filename)
        return files

    def write(
        self,
        seed: int,
        loop: LoopState,
        module: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        rng: np.random.Generator,
        device: torch.device,
    ) -> None:
        """Write the state after ``loop.epoch`` epochs, atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.tokenizer_files is None:
            self.tokenizer_files = self._write_tokenizers()
        tensors, optimizer_state = _tensors(loop, module, optimizer, device)
        name = f"checkpoint-{loop.epoch:04d}.safetensors"
        with atomic_path(self.directory / name) as temporary:
            safetensors.torch.save_file(tensors, temporary)
            _flush(temporary)
        stopper, average = loop.stopper, loop.average
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "estimator": type(self.estimator).__name__,
            "bilstm_attn": __version__,
            "params": self.params,
            "data_sha256": self.data_sha256,
            "seed": seed,
            "tensors": name,
            "tokenizers": {a: f for a, f in self.estimator._tokenizer_files().items()},
            "files": {**self.tokenizer_files, name: file_sha256(self.directory / name)},
            "fitted": self.estimator._fitted_config(),
            "loop": {
                "epoch": loop.epoch,
                "first_record": loop.first_record,
                "stopper": {
                    "patience": stopper.patience,
                    "tol": stopper.tol,
                    "best_loss": stopper.best_loss,
                    "best_epoch": stopper.best_epoch,
                    "bad_epochs": stopper.bad_epochs,
                    "should_stop": stopper.should_stop,
                },
                "average": None
                if average is None
                else {"decay": average.decay, "steps": average.steps},
            },
            "optimizer": optimizer_state,
            "rng": {"numpy": rng.bit_generator.state},
        }
        with atomic_path(self.directory / CONFIG) as temporary:
            text = json.dumps(config, indent=1, ensure_ascii=False, default=_json_default)
            temporary.write_text(text + "\n", encoding="utf-8")
            _flush(temporary)
        _flush_directory(self.directory)
        for old in self.directory.iterdir():
            if _TENSORS.fullmatch(old.name) and old.name != name:
                old.unlink(missing_ok=True)


def _tensors(
    loop: LoopState, module: torch.nn.Module, optimizer: torch.optim.Optimizer, device
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every tensor of the state, by name, on the CPU; and the optimizer's other values."""
    tensors = {f"module.{k}": v for k, v in module.state_dict().items()}
    if loop.stopper.best_state is not None:
        tensors |= {f"best.{k}": v for k, v in loop.stopper.best_state.items()}
    if loop.average is not None:
        tensors |= {f"average.{i}": v for i, v in enumerate(loop.average.averages)}
    saved = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in saved["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(device)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    return tensors, {"param_groups": saved["param_groups"], "scalars": scalars}


def _flush(path: Path) -> None:
    """Push a written file to the disk, so that a crash after the rename keeps it whole."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _flush_directory(directory: Path) -> None:
    """Push the directory's entries (the renames) to the disk, where the system allows."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
