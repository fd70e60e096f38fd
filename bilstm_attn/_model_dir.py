"""A saved model directory read as untrusted input (for :func:`bilstm_attn.persistence.load`).

Everything ``load`` reads goes through :class:`ModelDirectory`: a file is named by a
plain name inside the directory, its size is bounded, its bytes are read once and
checked against the sha256 that ``config.json`` lists for it, and only those bytes are
parsed. The helpers below check the types of ``config.json``'s values and the header of
the weights file, so that whatever is malformed becomes a ``ModelFileError`` naming
the key or the file, before anything large is allocated.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tokenizers
import torch

from bilstm_attn._version import __version__
from bilstm_attn.exceptions import ModelFileError

__all__ = [
    "CONFIG",
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "MAX_PARAMETERS",
    "MAX_TOKENIZER_BYTES",
    "MAX_VOCABULARY",
    "WEIGHTS",
    "ModelDirectory",
    "expect",
    "is_plain_name",
    "read_tensor_header",
    "versions",
]

FORMAT = "bilstm-attn model"
FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "model.safetensors"

# Bounds on what a model directory may ask for. The defaults use 0.1% to 1% of each.
MAX_CONFIG_BYTES = 16 << 20  # JSON parses into up to 20 times its size
MAX_TOKENIZER_BYTES = 64 << 20
MAX_PARAMETERS = 1 << 30  # 4 GiB of float32 weights
MAX_VOCABULARY = 1 << 21
MAX_HEADER_BYTES = 16 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FLOAT_DTYPES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
_JSON_TYPES: dict[type, str] = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def is_plain_name(name: object) -> bool:
    """Whether ``name`` is a plain file name: no separators (nor a drive's ``:``), not
    ``..``, not empty, encodable as a file name."""
    if not isinstance(name, str) or name in ("", ".", "..") or len(name) > 255:
        return False
    if any(c in name for c in "/\\:\0"):
        return False
    try:
        os.fsencode(name)
    except UnicodeError:  # a surrogate no file system name can hold
        return False
    return True


def _describe(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def expect(
    value: object, types: type | tuple[type, ...], key: str, fail: Callable[[str], Exception]
) -> Any:
    """``value`` if it is one of ``types`` (a bool is not an int here), else
    ``fail(problem)`` naming ``key``."""
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        wanted = " or ".join(_JSON_TYPES.get(t, t.__name__) for t in types)
        raise fail(f"config.json's {key!r} should be {wanted}; it is {_describe(value)}.")
    return value


class ModelDirectory:
    """The files of one saved model, each read at most once and checked.

    Parameters
    ----------
    path : Path
        The directory, as the user named it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.checksums: dict[str, str] = {}
        if not path.exists():
            raise self.fail("there is no such directory.")
        if not path.is_dir():
            raise self.fail("it is a file, not a directory written by save().")
        self.root = path.resolve()

    def fail(self, problem: str) -> ModelFileError:
        return ModelFileError(f"Cannot load the model in {os.fspath(self.path)!r}: {problem}")

    def file(self, name: object, key: str) -> Path:
        """The path of the plain file name ``name`` (from ``config.json``'s ``key``),
        resolved, inside the directory and a regular file; nothing is opened."""
        if not is_plain_name(name):
            raise self.fail(
                f"config.json's {key!r} names the file {name!r}; a model's files are plain "
                f"names inside its directory (no separators, '..' or absolute paths)."
            )
        try:
            path = (self.path / name).resolve(strict=True)
        except (FileNotFoundError, NotADirectoryError):
            raise self.fail(f"{name} is missing.") from None
        except (OSError, RuntimeError) as error:  # a link loop, a permission
            raise self.fail(f"{name} cannot be read ({error}).") from None
        if path.parent != self.root:
            raise self.fail(f"{name} is a link that leaves the model directory.")
        if not stat.S_ISREG(path.stat().st_mode):
            raise self.fail(f"{name} is not a regular file.")
        return path

    def read(self, name: str, limit: int, key: str = "files") -> bytes:
        """The bytes of ``name``, at most ``limit`` of them, checked against the sha256
        that ``checksums`` holds for it (a name without one is an error)."""
        path = self.file(name, key)
        expected = self.checksums.get(name)
        if expected is None:
            raise self.fail(f"config.json lists no sha256 for {name}; every file is checked.")
        data = self._bounded(path, limit)
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            raise self.fail(
                f"{name} is corrupt or truncated: its sha256 is {digest}, but config.json "
                f"recorded {expected}. Save the model again or restore the file."
            )
        return data

    def peek(self, name: str, size: int) -> bytes:
        """The first ``size`` bytes of ``name``, unchecked (to look at a header before
        reading the rest)."""
        return self._bounded(self.file(name, "files"), size, whole=False)

    def _bounded(self, path: Path, limit: int, *, whole: bool = True) -> bytes:
        """The bytes of the regular file ``path`` (resolved, so opened without following
        a link), at most ``limit``: more is an error if ``whole``, else left unread. Its
        size is read first, so that no more than it holds is ever allocated."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            descriptor = os.open(path, flags)
        except OSError as error:
            raise self.fail(f"{path.name} cannot be read ({error.strerror}).") from None
        with open(descriptor, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise self.fail(f"{path.name} is not a regular file.")
            if whole and status.st_size > limit:
                raise self.fail(
                    f"{path.name} is larger than the {limit:,} bytes a model file may have."
                )
            data = handle.read(min(status.st_size, limit))
        return data

    def read_config(self, name: str, file_format: str) -> dict[str, Any]:
        """``config.json``: a JSON object of ``file_format``, the one file without a
        checksum (it holds them)."""
        data = self._bounded(self.file(name, name), MAX_CONFIG_BYTES)
        try:
            config = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, 5,000 digits
            raise self.fail(f"{name} is not valid JSON ({error}).") from None
        if not isinstance(config, dict) or config.get("format") != file_format:
            raise self.fail(f"{name} was not written by bilstm_attn's save().")
        return config

    def take_checksums(self, files: object, needed: set[str]) -> None:
        """Keep ``config.json``'s ``files`` (name -> {"sha256": hex}), which must list
        exactly the ``needed`` files."""
        files = expect(files, dict, "files", self.fail)
        for name, entry in files.items():
            self.file(name, "files")  # a plain name, even if not needed
            entry = expect(entry, dict, f"files.{name}", self.fail)
            digest = entry.get("sha256")
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise self.fail(f"config.json's 'files.{name}.sha256' is not a sha256 digest.")
            self.checksums[name] = digest
        for name in sorted(needed - set(files)):
            raise self.fail(f"config.json lists no sha256 for {name}; every file is checked.")
        for name in sorted(set(files) - needed):
            raise self.fail(f"config.json lists {name}, which is no file of this model.")


def read_tensor_header(
    data: bytes, fail: Callable[[str], Exception], file_size: int | None = None
) -> dict:
    """The tensors a safetensors file holds, ``{key: (dtype, shape)}``, from its header
    alone (``data`` may end after it), checked to lie within a file of ``file_size`` bytes
    (default ``len(data)``); nothing is allocated for them. What is wrong is
    ``fail(problem)``."""
    if len(data) < 8:
        raise fail("too short for a safetensors file")
    size = int.from_bytes(data[:8], "little")
    if size > min(len(data) - 8, MAX_HEADER_BYTES):
        raise fail(f"not a safetensors file: its header size is {size:,}")
    try:
        header = json.loads(data[8 : 8 + size].decode("utf-8"))
    except (ValueError, RecursionError):
        raise fail("not a safetensors file: its header is not JSON") from None
    if not isinstance(header, dict):
        raise fail("not a safetensors file: its header is not an object")
    tensors, body = {}, (len(data) if file_size is None else file_size) - 8 - size
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if (
            not isinstance(dtype, str)
            or dtype not in _FLOAT_DTYPES
            or not isinstance(shape, list)
            or not all(type(n) is int and n >= 0 for n in shape)
            or not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(type(n) is int for n in offsets)
        ):
            raise fail(f"the tensor {key!r} is described in a way save() never writes")
        count = 1
        for n in shape:
            count *= n
        start, end = offsets
        if not 0 <= start <= end <= body or end - start != count * _FLOAT_DTYPES[dtype]:
            raise fail(f"the tensor {key!r} does not lie within the file")
        tensors[key] = (dtype, tuple(shape))
    return tensors


def versions() -> dict[str, str]:
    """The versions a saved model records: bilstm_attn, torch, tokenizers, Python."""
    return {
        "bilstm_attn": __version__,
        "torch": torch.__version__,
        "tokenizers": tokenizers.__version__,
        "python": platform.python_version(),
    }
