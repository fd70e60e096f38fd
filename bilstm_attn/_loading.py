"""Loading a saved model directory, read as untrusted input.

Each step checks what it reads before anything is built from it: ``config.json``'s
values by type, the tokenizer files by kind and size, the parameters by the estimator's
own constraints, the network's size against ``MAX_PARAMETERS`` and its shapes against
the weights file's header, then the weights themselves (finite, as the checksum
recorded). Whatever is wrong is a ``ModelFileError`` naming the key or the file.
"""

from __future__ import annotations

import importlib
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
from safetensors import SafetensorError
from sklearn.utils._param_validation import InvalidParameterError
from tokenizers import Tokenizer

from bilstm_attn._base import resolve_device
from bilstm_attn._model_dir import (
    CONFIG,
    FORMAT,
    FORMAT_VERSION,
    MAX_HEADER_BYTES,
    MAX_TOKENIZER_BYTES,
    MAX_VOCABULARY,
    WEIGHTS,
    ModelDirectory,
    expect,
    read_tensor_header,
    versions,
)
from bilstm_attn._version import __version__
from bilstm_attn.exceptions import ModelFileError, VersionMismatchWarning
from bilstm_attn.text import is_tokenizer_failure, unknown_piece_problem

__all__ = ["REGISTRY", "load_model"]

# Estimator class name -> class, filled in by PersistenceMixin's subclasses when their
# module is imported; the library's own are imported on demand (``import bilstm_attn``
# imports nothing until a name is used).
REGISTRY: dict[str, type] = {}
_HOMES = {
    "BiLSTMAttentionClassifier": "bilstm_attn.classifier",
    "Seq2SeqTranslator": "bilstm_attn.translator",
}
_TOKENIZER_MODELS = ("BPE", "Unigram", "WordLevel", "WordPiece")


def load_model(path: Path, cls: type | None, device: str | None) -> Any:
    """The estimator saved in ``path`` (of class ``cls``, or any registered one); each
    step checks what it reads before anything is built from it."""
    files = ModelDirectory(path)
    config = files.read_config(CONFIG, FORMAT)
    estimator_cls = _estimator_class(files, config, cls)
    _check_versions(path, expect(config.get("versions", {}), dict, "versions", files.fail))
    tokenizer_files = _tokenizer_files(files, config, estimator_cls)
    files.take_checksums(config.get("files"), {WEIGHTS, *tokenizer_files.values()})
    texts = {name: _tokenizer_text(files, name) for name in sorted(set(tokenizer_files.values()))}
    estimator = _new_estimator(files, config, estimator_cls, texts)
    loaded = {name: _plain_tokenizer(text) for name, text in texts.items()}
    for attribute, name in tokenizer_files.items():
        setattr(estimator, attribute, loaded[name])
        for token in estimator_cls._REQUIRED_TOKENS.get(attribute, ()):
            if loaded[name].token_to_id(token) is None:
                raise files.fail(f"{name} lacks the {token} token a {config['estimator']} needs.")
    try:
        estimator._restore_fitted(config.get("fitted"))
    except ValueError as error:
        raise files.fail(f"{CONFIG}'s {error}.") from None
    module = _read_network(files, estimator)
    estimator.device_ = resolve_device(device or estimator.device, config["estimator"])
    estimator.module_ = module.to(estimator.device_).eval()
    return estimator


def _estimator_class(files: ModelDirectory, config: dict, cls: type | None) -> type:
    version = config.get("format_version")
    if type(version) is not int or version < 1:
        raise files.fail(f"{CONFIG} has no valid format_version.")
    if version > FORMAT_VERSION:
        versions = config.get("versions")
        writer = versions.get("bilstm_attn") if isinstance(versions, dict) else None
        raise files.fail(
            f"it was saved in format {version} by bilstm_attn {writer}, newer than this "
            f"one ({__version__}, format {FORMAT_VERSION}); upgrade bilstm_attn."
        )
    name = expect(config.get("estimator"), str, "estimator", files.fail)
    if name in _HOMES and name not in REGISTRY:
        importlib.import_module(_HOMES[name])  # registers the class
    if name not in REGISTRY or (cls is not None and name != cls.__name__):
        wanted = "bilstm_attn.load" if name in REGISTRY else "a newer bilstm_attn"
        raise files.fail(
            f"it holds a {name}, not a {cls.__name__ if cls else 'model'}; "
            f"load it with {name}.load or {wanted}."
        )
    return REGISTRY[name]


def _tokenizer_files(files: ModelDirectory, config: dict, estimator_cls: type) -> dict[str, str]:
    """``config.json``'s ``tokenizers``: exactly the estimator's tokenizer attributes, each
    a plain file name."""
    found = expect(config.get("tokenizers"), dict, "tokenizers", files.fail)
    wanted = set(estimator_cls._TOKENIZER_PARAMS.values())
    if set(found) != wanted:
        raise files.fail(
            f"{CONFIG}'s 'tokenizers' should name the files of {sorted(wanted)}; "
            f"it names {sorted(found)}."
        )
    for attribute, name in found.items():
        files.file(name, f"tokenizers.{attribute}")
    return found


def _tokenizer_text(files: ModelDirectory, name: str) -> str:
    """The checked text of a tokenizer file: a model of a known kind and a bounded
    vocabulary that tokenizers reads and that can encode every text."""
    problem = None
    try:
        text = files.read(name, MAX_TOKENIZER_BYTES).decode("utf-8")
        state = json.loads(text)
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, 5,000 digits
        raise files.fail(f"{name} cannot be read by tokenizers (not JSON: {error}).") from None
    model = state.get("model") if isinstance(state, dict) else None
    kind = model.get("type") if isinstance(model, dict) else None
    vocab = model.get("vocab") if isinstance(model, dict) else None
    if kind not in _TOKENIZER_MODELS:
        problem = f"its model is of type {kind!r}, not one of {', '.join(_TOKENIZER_MODELS)}"
    elif not isinstance(vocab, (dict, list)) or len(vocab) > MAX_VOCABULARY:
        problem = f"its vocabulary is missing or larger than {MAX_VOCABULARY:,} pieces"
    else:
        try:
            tokenizer = Tokenizer.from_str(text)
        except BaseException as error:  # a bare Exception on a bad file, or a Rust panic
            if not is_tokenizer_failure(error):
                raise
            problem = f"{error}"
        else:
            if tokenizer.get_vocab_size(with_added_tokens=True) > MAX_VOCABULARY:
                problem = f"its vocabulary is larger than {MAX_VOCABULARY:,} pieces"
            else:
                problem = unknown_piece_problem(tokenizer)
    if problem is not None:
        raise files.fail(f"{name} cannot be read by tokenizers or used: {problem}.")
    return text


def _plain_tokenizer(text: str) -> Tokenizer:
    """The tokenizer of a checked file, with its own padding and truncation turned off
    (the library pads and truncates itself), as ``fit`` has it."""
    tokenizer = Tokenizer.from_str(text)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _new_estimator(files: ModelDirectory, config: dict, estimator_cls: type, texts: dict) -> Any:
    """The estimator with the parameters of ``config.json``, each of a type save() writes."""
    saved = expect(config.get("params"), dict, "params", files.fail)
    known = estimator_cls._get_param_names()
    params = dict(estimator_cls._ADDED_PARAMS)
    for key, value in saved.items():
        if key not in known:
            owner = estimator_cls.__name__
            raise files.fail(f"{CONFIG}'s 'params' has {key!r}, which is no parameter of {owner}.")
        params[key] = _decode_param(files, f"params.{key}", value, texts)
    estimator = estimator_cls(**params)
    try:
        estimator._validate_params()
    except (InvalidParameterError, TypeError, ValueError) as error:
        raise files.fail(
            f"the parameters in {CONFIG} do not fit {estimator_cls.__name__}: {error}"
        ) from None
    return estimator


def _decode_param(files: ModelDirectory, key: str, value: object, texts: dict) -> object:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, dict) and set(value) == {"items"}:  # a dict of scalars
        items = value["items"]
        plain = (bool, int, float, str, type(None))
        if isinstance(items, list) and all(
            isinstance(item, list) and len(item) == 2 and all(type(x) in plain for x in item)
            for item in items
        ):
            return {k: v for k, v in items}
    if isinstance(value, dict) and set(value) == {"tokenizer_file"}:
        name = value["tokenizer_file"]
        if isinstance(name, str) and name in texts:
            return _plain_tokenizer(texts[name])
        raise files.fail(f"{CONFIG}'s {key!r} names no tokenizer file of the model.")
    raise files.fail(
        f"{CONFIG}'s {key!r} should be a string, a number, true/false, null or an object "
        f"save() writes; it is {value!r:.80}."
    )


def _read_network(files: ModelDirectory, estimator: Any) -> torch.nn.Module:
    """The network with the saved weights, its shapes checked against config.json and
    the weights file's header before anything is allocated."""
    try:
        planned = estimator._planned_module()
    except ValueError as error:
        raise files.fail(f"{error}") from None
    shapes = {key: tuple(t.shape) for key, t in planned.state_dict().items()}
    count = sum(int(np.prod(shape, dtype=np.float64)) for shape in shapes.values())
    path, limit = files.file(WEIGHTS, "files"), 8 * count + MAX_HEADER_BYTES + 8

    def broken(problem: str) -> Exception:
        return files.fail(f"{WEIGHTS} does not hold this network's weights ({problem}).")

    file_size = path.stat().st_size
    if file_size > limit:
        raise broken(f"it has {file_size:,} bytes; {CONFIG}'s network needs at most {limit:,}")
    size = int.from_bytes(files.peek(WEIGHTS, 8), "little")
    head = files.peek(WEIGHTS, 8 + min(size, MAX_HEADER_BYTES))
    try:  # the header alone, before the weights are parsed or the network built
        header = read_tensor_header(head, broken, file_size)
        _compare_shapes(header, shapes, broken)
    except ModelFileError as error:
        problem = error
    else:
        problem = None
    if problem is not None:
        files.read(WEIGHTS, limit)  # a corrupt or truncated file says so first
        raise problem
    data = files.read(WEIGHTS, limit)
    if read_tensor_header(data, broken) != header:
        raise broken("it changed while it was read")
    try:
        weights = safetensors.torch.load(data)
    except (SafetensorError, RuntimeError, ValueError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise broken(first) from None
    for key, tensor in weights.items():
        if not torch.isfinite(tensor).all():
            raise files.fail(f"{WEIGHTS}'s {key} holds NaN or infinite values.")
    module = estimator._loaded_module()
    module.load_state_dict(weights, strict=True)
    return module


def _check_versions(directory: Path, saved: dict[str, Any]) -> None:
    ours = versions()
    saved = {key: value for key, value in saved.items() if isinstance(value, str)}
    torch_minor = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    differs = []
    if saved.get("bilstm_attn") != ours["bilstm_attn"]:
        differs.append(f"bilstm_attn {saved.get('bilstm_attn')} (this is {ours['bilstm_attn']})")
    if not saved.get("torch", "").startswith(torch_minor + "."):
        differs.append(f"torch {saved.get('torch')} (this is {ours['torch']})")
    if differs:
        warnings.warn(
            f"The model in {os.fspath(directory)!r} was saved with "
            f"{' and '.join(differs)}. It loads, but predictions may differ slightly; "
            f"check them, then save it again with this version.",
            VersionMismatchWarning,
            stacklevel=5,
        )


def _compare_shapes(header: dict, shapes: dict, broken: Callable[[str], Exception]) -> None:
    """``broken(problem)`` unless the weights file's tensors are the network's."""
    if set(header) != set(shapes):
        missing, extra = sorted(set(shapes) - set(header)), sorted(set(header) - set(shapes))
        raise broken(f"missing {missing[:3]}, unexpected {extra[:3]}")
    for key, shape in shapes.items():
        if header[key][1] != shape:
            raise broken(f"{key} has shape {header[key][1]}; {CONFIG} needs {shape}")
