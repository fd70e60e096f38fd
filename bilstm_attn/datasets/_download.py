"""Where corpora live, and fetching a file safely: streamed, checksummed, atomic."""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bilstm_attn._files import atomic_path
from bilstm_attn.exceptions import ChecksumError

__all__ = ["Remote", "data_home", "fetch", "write_csv"]

ENVIRONMENT_VARIABLE = "BILSTM_ATTN_DATA"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Remote:
    """One file of a corpus's official distribution.

    ``checksum`` is ``"sha256:<hex>"``; ``"md5:<hex>"`` only where no sha256 is
    published (AG News train).
    """

    url: str
    checksum: str
    filename: str


def data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The data directory: ``data_home``, else ``$BILSTM_ATTN_DATA``, else a user cache.

    The cache is ``$XDG_CACHE_HOME/bilstm_attn`` (``~/.cache/bilstm_attn``), or
    ``%LOCALAPPDATA%\\bilstm_attn`` on Windows. The directory is not created here.
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    if os.environ.get(ENVIRONMENT_VARIABLE):
        return Path(os.environ[ENVIRONMENT_VARIABLE]).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "bilstm_attn"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "bilstm_attn"


def fetch(remote: Remote, directory: Path, timeout: float = 60.0) -> Path:
    """Download ``remote`` into ``directory``, verify its checksum, and return its path.

    The file is streamed into a temporary file beside its final name and moved into
    place only once the whole of it has the expected checksum; on any failure nothing
    is left behind. Raises ``ChecksumError`` on a mismatch and ``OSError`` (including
    ``urllib.error.URLError``) when the server cannot be reached.
    """
    algorithm, expected = remote.checksum.split(":", 1)
    final = directory / remote.filename
    with atomic_path(final) as temporary:
        digest = hashlib.new(algorithm)
        request = urllib.request.Request(remote.url, headers={"User-Agent": "bilstm-attn"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            with open(temporary, "wb") as out:
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != expected.lower():
            raise ChecksumError(
                f"{remote.filename} downloaded from {remote.url} has {algorithm} "
                f"{digest.hexdigest()}, but the published {algorithm} is {expected}. "
                f"The file was deleted; the download was corrupted or the server's copy "
                f"changed. Try again, or place a verified copy in {directory}."
            )
    return final


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as a gzip CSV (UTF-8, header, RFC 4180 quoting), atomically."""
    with atomic_path(path) as temporary:
        frame.to_csv(
            temporary, index=False, encoding="utf-8", compression={"method": "gzip", "mtime": 0}
        )
