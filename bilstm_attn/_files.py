"""Small file helpers shared by the data loaders and model persistence."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "file_sha256", "read_json_object"]


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path next to ``final`` that replaces it only if the block succeeds.

    A reader never sees a half-written ``final``; on an error the temporary file is
    removed and ``final`` is left as it was.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private (0600)
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_json_object(
    path: Path, file_format: str, writer: str, fail: Callable[[str], Exception]
) -> dict[str, Any]:
    """The JSON object in ``path``, whose ``"format"`` must be ``file_format``.

    Anything else raises ``fail(problem)``, the problem naming the file and ``writer``
    (what writes such files).
    """
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise fail(f"{path.name} is not valid JSON ({error}).") from None
    if not isinstance(config, dict) or config.get("format") != file_format:
        raise fail(f"{path.name} was not written by {writer}.")
    return config
