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
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
from sklearn.utils.validation import check_is_fitted
from tokenizers import Tokenizer

from bilstm_attn._files import atomic_path, file_sha256
from bilstm_attn._loading import REGISTRY, load_model
from bilstm_attn._model_dir import CONFIG, FORMAT, FORMAT_VERSION, WEIGHTS, versions

__all__ = ["FORMAT_VERSION", "PersistenceMixin", "load"]


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
    # (encode to JSON, decode from it); decode raises ValueError on what encode never
    # writes.
    _FITTED_VALUES: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {}
    # Tokens a fitted tokenizer must have: attribute -> tokens.
    _REQUIRED_TOKENS: dict[str, tuple[str, ...]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.__name__] = cls

    # ----------------------------------------------------------------- hooks
    def _tokenizer_files(self) -> dict[str, str]:
        """Fitted tokenizer attribute -> file name."""
        raise NotImplementedError

    def _fitted_config(self) -> dict[str, Any]:
        config = {"history": self.history_, "best_epoch": self.best_epoch_}  # type: ignore[attr-defined]
        for attribute, coders in self._FITTED_VALUES.items():
            value = getattr(self, attribute)
            config[attribute.removesuffix("_")] = coders[0](value)
        return config

    def _restore_fitted(self, fitted: object) -> None:
        """Set the fitted state ``_fitted_config`` wrote; a ValueError names what is wrong."""
        if not isinstance(fitted, dict):
            raise ValueError("'fitted' should be an object")
        history = fitted.get("history")
        if not isinstance(history, list) or not all(
            isinstance(record, dict)
            and all(type(v) in (int, float, str, bool, type(None)) for v in record.values())
            for record in history
        ):
            raise ValueError("'fitted.history' should be a list of objects of plain values")
        best = fitted.get("best_epoch")
        if best is not None and (type(best) is not int or best < 0):
            raise ValueError("'fitted.best_epoch' should be an epoch number or null")
        values = {}
        for attribute, (_, decode) in self._FITTED_VALUES.items():
            key = attribute.removesuffix("_")
            if key not in fitted:
                raise ValueError(f"'fitted.{key}' is missing")
            try:
                values[attribute] = decode(fitted[key])
            except (ValueError, TypeError) as error:
                raise ValueError(f"'fitted.{key}' is not valid: {error}") from None
        self.history_ = [dict(record) for record in history]
        self.best_epoch_ = best
        for attribute, value in values.items():
            setattr(self, attribute, value)

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
            "versions": versions(),
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
        return load_model(Path(path), cls, device)


def load(path: str | os.PathLike, *, device: str | None = None):
    """Load whichever estimator ``save`` wrote to ``path`` (see ``PersistenceMixin.load``)."""
    return load_model(Path(path), None, device)


# --------------------------------------------------------------------- helpers
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


def decode_classes(config: object) -> np.ndarray:
    """``classes_`` from what :func:`encode_classes` wrote; ValueError if it is not that."""
    if not isinstance(config, dict) or set(config) != {"values", "dtype"}:
        raise ValueError("it should be an object with 'values' and 'dtype'")
    values, dtype_text = config["values"], config["dtype"]
    if not isinstance(values, list) or len(values) < 2:
        raise ValueError("its 'values' should be a list of at least two labels")
    if any(type(v) not in (str, int, float, bool) for v in values):
        raise ValueError("its 'values' should be strings, numbers or true/false")
    if len({(type(v), v) for v in values}) < len(values):
        raise ValueError("its 'values' repeat a label")
    try:
        dtype = np.dtype(dtype_text) if isinstance(dtype_text, str) else None
    except TypeError:
        dtype = None
    longest = max((4 * len(v) for v in values if isinstance(v, str)), default=0)
    if dtype is None or dtype.kind not in "biufUO" or dtype.itemsize > max(longest, 16):
        raise ValueError(f"its 'dtype' {dtype_text!r} is not one save() writes")
    if dtype.kind == "O":
        classes = np.empty(len(values), dtype=object)
        classes[:] = values
        return classes
    try:
        classes = np.asarray(values, dtype=dtype)
    except (ValueError, OverflowError, TypeError):
        classes = None
    if classes is None or classes.tolist() != values:
        raise ValueError(f"its 'values' are not all of the dtype {dtype_text!r}")
    return classes


def float_or_none(value: object) -> float | None:
    """``value`` as a plain float for JSON (None stays None)."""
    return None if value is None else float(value)


def decode_share(value: object) -> float | None:
    """A share between 0 and 1, or None; ValueError otherwise."""
    if value is None:
        return None
    if type(value) not in (int, float) or not 0 <= value <= 1:
        raise ValueError("it should be a number between 0 and 1, or null")
    return float(value)
