"""save and load: a fitted estimator as a directory of plain data files.

A saved model is a directory with

- ``config.json``: the parameters, the fitted state that is not a tensor (classes,
  history), the versions of bilstm_attn, torch and tokenizers that wrote it, and the
  sha256 of every other file;
- ``model.safetensors``: the network's weights;
- ``tokenizer.json`` (and ``target_tokenizer.json`` for a translator with separate
  vocabularies): the fitted tokenizers, in HF ``tokenizers``' own format.

Loading parses JSON, safetensors and tokenizer files only; nothing in the directory
is executed (unlike a pickle). A missing, truncated or altered file is caught by its
checksum and named in a ``ModelFileError``.
"""

from __future__ import annotations

import json
import os
import platform
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import tokenizers
import torch
from safetensors import SafetensorError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted
from tokenizers import Tokenizer

from bilstm_attn._base import resolve_device
from bilstm_attn._files import atomic_path, file_sha256, read_json_object
from bilstm_attn._version import __version__
from bilstm_attn.exceptions import ModelFileError, VersionMismatchWarning

__all__ = ["FORMAT_VERSION", "PersistenceMixin", "load"]

FORMAT = "bilstm-attn model"
FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
_REGISTRY: dict[str, type[PersistenceMixin]] = {}


class PersistenceMixin:
    """``save(path)`` and ``load(path)`` for the torch-backed estimators.

    Subclasses say which fitted attributes are tokenizers (``_tokenizer_files``), which
    parameters may hold a ready tokenizer (``_TOKENIZER_PARAMS``), and add their own
    fitted state that is not a tensor in ``_FITTED_VALUES``.
    """

    _TOKENIZER_PARAMS: dict[str, str] = {}  # parameter -> fitted attribute
    # Parameters added after models were first saved, with the value that reproduces
    # what a model saved without them did; load() fills them in where config.json
    # lacks them.
    _ADDED_PARAMS: dict[str, Any] = {}
    # Fitted attributes config.json keeps besides history_ and best_epoch_: attribute ->
    # (encode to JSON, decode from it), or None for a plain JSON value.
    _FITTED_VALUES: dict[str, tuple[Any, Any] | None] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ----------------------------------------------------------------- hooks
    def _tokenizer_files(self) -> dict[str, str]:
        """Fitted tokenizer attribute -> file name."""
        raise NotImplementedError

    def _fitted_config(self) -> dict[str, Any]:
        config = {"history": self.history_, "best_epoch": self.best_epoch_}  # type: ignore[attr-defined]
        for attribute, coders in self._FITTED_VALUES.items():
            value = getattr(self, attribute)
            config[attribute.removesuffix("_")] = value if coders is None else coders[0](value)
        return config

    def _restore_fitted(self, fitted: dict[str, Any]) -> None:
        self.history_ = list(fitted["history"])
        self.best_epoch_ = fitted["best_epoch"]
        for attribute, coders in self._FITTED_VALUES.items():
            value = fitted[attribute.removesuffix("_")]
            setattr(self, attribute, value if coders is None else coders[1](value))

    def _loaded_module(self) -> torch.nn.Module:
        """A network with the saved architecture, its weights still to be loaded."""
        return self.initialize_module()  # type: ignore[attr-defined]

    # ----------------------------------------------------------------- save
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to the directory ``path`` (created if needed).

        Existing files of an earlier save there are replaced, each atomically, with
        ``config.json`` written last. Reload with ``load(path)``.

        Returns
        -------
        path : pathlib.Path
        """
        check_is_fitted(self, "module_")
        directory = Path(path)
        if directory.exists() and not directory.is_dir():
            raise ValueError(f"save() needs a directory; {os.fspath(path)!r} is a file.")
        directory.mkdir(parents=True, exist_ok=True)
        files = {}
        weights = {
            name: tensor.detach().to("cpu").contiguous()
            for name, tensor in self.module_.state_dict().items()  # type: ignore[attr-defined]
        }
        with atomic_path(directory / WEIGHTS) as temporary:
            safetensors.torch.save_file(weights, temporary, metadata={"format": "pt"})
        files[WEIGHTS] = file_sha256(directory / WEIGHTS)
        tokenizer_files = self._tokenizer_files()
        for attribute, filename in tokenizer_files.items():
            if filename in files:  # one tokenizer shared by source and target
                continue
            with atomic_path(directory / filename) as temporary:
                getattr(self, attribute).save(os.fspath(temporary))
            files[filename] = file_sha256(directory / filename)
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "estimator": type(self).__name__,
            "versions": _versions(),
            "params": self._params_config(tokenizer_files),
            "tokenizers": tokenizer_files,
            "fitted": self._fitted_config(),
            "files": {name: {"sha256": digest} for name, digest in files.items()},
        }
        with atomic_path(directory / CONFIG) as temporary:
            temporary.write_text(
                json.dumps(config, indent=2, ensure_ascii=False, default=_json_default) + "\n",
                encoding="utf-8",
            )
        return directory

    def _params_config(self, tokenizer_files: dict[str, str]) -> dict[str, Any]:
        params = {}
        for name, value in self.get_params(deep=False).items():  # type: ignore[attr-defined]
            if isinstance(value, Tokenizer):
                # A ready tokenizer given as a parameter: the fitted copy stands in for it.
                filename = tokenizer_files[self._TOKENIZER_PARAMS[name]]
                params[name] = {"tokenizer_file": filename}
                continue
            if isinstance(value, np.random.RandomState):
                warnings.warn(
                    "random_state is a RandomState instance, which config.json cannot hold; "
                    "the saved model has random_state=None. Pass an int to keep it.",
                    UserWarning,
                    stacklevel=3,
                )
                value = None
            params[name] = _encode_value(name, value)
        return params

    # ----------------------------------------------------------------- load
    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None):
        """Load a model written by ``save``; runs no code from the files.

        Parameters
        ----------
        path : str or path
            The directory ``save`` wrote.
        device : str, default=None
            Where to put the network (``"cpu"``, ``"cuda"``, ``"auto"``...); by default
            the saved ``device`` parameter decides.

        Raises
        ------
        ModelFileError
            A file is missing, corrupt, truncated or of another estimator; the message
            names it.
        """
        return _load(Path(path), cls, device)


def load(path: str | os.PathLike, *, device: str | None = None):
    """Load whichever estimator ``save`` wrote to ``path`` (see ``PersistenceMixin.load``)."""
    return _load(Path(path), None, device)


# --------------------------------------------------------------------- helpers
def _versions() -> dict[str, str]:
    return {
        "bilstm_attn": __version__,
        "torch": torch.__version__,
        "tokenizers": tokenizers.__version__,
        "python": platform.python_version(),
    }


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _encode_value(name: str, value: object) -> object:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):  # class_weight: label keys of any JSON scalar type
        return {
            "items": [[_encode_value(name, k), _encode_value(name, v)] for k, v in value.items()]
        }
    raise ValueError(
        f"save() cannot write the '{name}' parameter ({type(value).__name__}) to "
        f"config.json; set it to a plain value, or pickle the estimator instead."
    )


def _decode_value(value: object, directory: Path) -> object:
    if isinstance(value, dict) and "items" in value:
        return {key: item for key, item in value["items"]}
    if isinstance(value, dict) and "tokenizer_file" in value:
        return _read_tokenizer(directory, value["tokenizer_file"])
    return value


def encode_classes(classes: np.ndarray) -> dict[str, Any]:
    """``classes_`` as JSON: the values and the NumPy dtype."""
    values = classes.tolist()
    odd = [v for v in values if not isinstance(v, (str, int, float, bool))]
    if odd:
        raise ValueError(
            f"save() keeps classes that are str, int, float or bool; classes_ holds "
            f"{type(odd[0]).__name__} {odd[0]!r}. Pickle the estimator instead."
        )
    return {"values": values, "dtype": classes.dtype.str}


def decode_classes(config: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(config["dtype"])
    if dtype.kind == "O":
        classes = np.empty(len(config["values"]), dtype=object)
        classes[:] = config["values"]
        return classes
    return np.asarray(config["values"], dtype=dtype)


def _fail(directory: Path, problem: str) -> ModelFileError:
    return ModelFileError(f"Cannot load the model in {os.fspath(directory)!r}: {problem}")


def _read_config(directory: Path) -> dict[str, Any]:
    if not directory.exists():
        raise _fail(directory, "there is no such directory.")
    if not directory.is_dir():
        raise _fail(directory, "it is a file, not a directory written by save().")
    path = directory / CONFIG
    if not path.is_file():
        raise _fail(
            directory,
            f"{CONFIG} is missing. save() writes {CONFIG}, {WEIGHTS} and "
            f"tokenizer.json; copy the whole directory.",
        )
    config = read_json_object(
        path, FORMAT, "bilstm_attn's save()", lambda problem: _fail(directory, problem)
    )
    version = config.get("format_version")
    if not isinstance(version, int):
        raise _fail(directory, f"{CONFIG} has no valid format_version.")
    if version > FORMAT_VERSION:
        raise _fail(
            directory,
            f"it was saved in format {config['format_version']} by bilstm_attn "
            f"{config.get('versions', {}).get('bilstm_attn')}, newer than this one "
            f"({__version__}, format {FORMAT_VERSION}); upgrade bilstm_attn.",
        )
    for key in ("estimator", "params", "fitted", "files", "tokenizers"):
        if key not in config:
            raise _fail(directory, f"{CONFIG} lacks its {key!r} entry.")
    return config


def _check_versions(directory: Path, saved: dict[str, str]) -> None:
    ours = _versions()
    torch_minor = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    differs = []
    if saved.get("bilstm_attn") != ours["bilstm_attn"]:
        differs.append(f"bilstm_attn {saved.get('bilstm_attn')} (this is {ours['bilstm_attn']})")
    if not str(saved.get("torch", "")).startswith(torch_minor + "."):
        differs.append(f"torch {saved.get('torch')} (this is {ours['torch']})")
    if differs:
        warnings.warn(
            f"The model in {os.fspath(directory)!r} was saved with "
            f"{' and '.join(differs)}. It loads, but predictions may differ slightly; "
            f"check them, then save it again with this version.",
            VersionMismatchWarning,
            stacklevel=4,
        )


def _check_files(directory: Path, files: dict[str, dict[str, str]]) -> None:
    for name, entry in files.items():
        path = directory / name
        if not path.is_file():
            raise _fail(directory, f"{name} is missing.")
        digest = file_sha256(path)
        if digest != entry.get("sha256"):
            raise _fail(
                directory,
                f"{name} is corrupt or truncated: its sha256 is {digest}, but {CONFIG} "
                f"recorded {entry.get('sha256')}. Save the model again or restore the file.",
            )


def _read_tokenizer(directory: Path, filename: str) -> Tokenizer:
    try:
        return Tokenizer.from_file(os.fspath(directory / filename))
    except Exception as error:  # tokenizers raises a bare Exception on bad JSON
        raise _fail(directory, f"{filename} cannot be read by tokenizers ({error}).") from None


def _load(directory: Path, cls: type | None, device: str | None):
    config = _read_config(directory)
    name = config["estimator"]
    if name not in _REGISTRY or (cls is not None and name != cls.__name__):
        wanted = "bilstm_attn.load" if name in _REGISTRY else "a newer bilstm_attn"
        raise _fail(
            directory,
            f"it holds a {name}, not a {cls.__name__ if cls else 'model'}; "
            f"load it with {name}.load or {wanted}.",
        )
    _check_versions(directory, config.get("versions", {}))
    _check_files(directory, config["files"])
    estimator_cls = _REGISTRY[name]
    params = {key: _decode_value(value, directory) for key, value in config["params"].items()}
    params = {**estimator_cls._ADDED_PARAMS, **params}
    try:
        estimator = estimator_cls(**params)
        estimator._validate_params()
    except (TypeError, InvalidParameterError) as error:
        raise _fail(directory, f"the parameters in {CONFIG} do not fit {name}: {error}") from None
    loaded: dict[str, Tokenizer] = {}
    for attribute, filename in config["tokenizers"].items():
        if filename not in loaded:
            loaded[filename] = _read_tokenizer(directory, filename)
        setattr(estimator, attribute, loaded[filename])
    try:
        estimator._restore_fitted(config["fitted"])
    except (KeyError, TypeError, ValueError) as error:
        raise _fail(directory, f"the fitted state in {CONFIG} is incomplete ({error}).") from None
    module = estimator._loaded_module()
    try:
        weights = safetensors.torch.load_file(os.fspath(directory / WEIGHTS), device="cpu")
        module.load_state_dict(weights, strict=True)
    except (SafetensorError, RuntimeError, OSError) as error:
        first = str(error).strip().splitlines()[0]
        raise _fail(
            directory, f"{WEIGHTS} does not hold this network's weights ({first})."
        ) from None
    estimator.device_ = resolve_device(device or estimator.device, name)
    estimator.module_ = module.to(estimator.device_).eval()
    return estimator
