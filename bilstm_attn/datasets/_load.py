"""load_dataset: a named corpus as a DataFrame, read in place or fetched once."""

from __future__ import annotations

import os
import shutil
import urllib.error
from pathlib import Path

import pandas as pd

from bilstm_attn.datasets._corpora import CORPORA, Corpus
from bilstm_attn.datasets._download import data_home as resolve_data_home
from bilstm_attn.datasets._download import fetch
from bilstm_attn.datasets._generated import make_dates, make_reviews
from bilstm_attn.exceptions import DatasetNotFoundError

__all__ = ["list_datasets", "load_dataset"]

# The bundled corpora are generated, never read: these calls give the files in the
# repository's datasets/ folder (a test checks they match).
_GENERATED = {
    "reviews": {
        "train": lambda: make_reviews(4000, random_state=0),
        "test": lambda: make_reviews(1000, random_state=1),
    },
    "dates": {
        "train": lambda: make_dates(6000, random_state=0),
        "test": lambda: make_dates(1000, random_state=1),
    },
}


def list_datasets() -> pd.DataFrame:
    """The names ``load_dataset`` knows, with their splits and whether they download.

    >>> "imdb" in list_datasets().index
    True
    """
    rows = [
        {"name": name, "splits": ", ".join(splits), "download": False, "description": "bundled"}
        for name, splits in _GENERATED.items()
    ]
    rows += [
        {
            "name": corpus.name,
            "splits": ", ".join(corpus.splits),
            "download": bool(corpus.remotes),
            "description": corpus.description,
        }
        for corpus in CORPORA.values()
    ]
    return pd.DataFrame(rows).set_index("name")


def load_dataset(
    name: str,
    split: str | None = None,
    data_home: str | os.PathLike | None = None,
    *,
    download_if_missing: bool = True,
) -> pd.DataFrame:
    """Load one split of a named corpus as a DataFrame.

    Classification corpora have the columns ``text`` and ``label`` (plus any the corpus
    carries, such as ``id`` or TREC's ``label_fine``); parallel corpora have ``source``
    and ``target``. Texts are kept verbatim; an empty text is ``""``, never NaN.

    Parameters
    ----------
    name : str
        One of ``list_datasets().index``: ``"imdb"``, ``"sst2"``, ``"nsmc"``,
        ``"trec"``, ``"20newsgroups"``, ``"ag_news"``, ``"eraser_movies"``,
        ``"sms_spam"``, ``"multi30k"`` (de -> en), ``"multi30k_fr"`` (fr -> en),
        ``"dlfs2_date"``, ``"dlfs2_addition"``, ``"tatoeba_ko_en"``,
        ``"korean_english_news"``, and the bundled, generated ``"reviews"`` and
        ``"dates"``.
    split : str or None, default=None
        A split of that corpus, under its original name (``"dev"`` for SST-2,
        ``"val"`` and ``"test_2016_flickr"`` for Multi30k, ``"all"`` where a corpus
        has no official split). None: ``"train"``, or the only split of a corpus that
        has one.
    data_home : str or path, default=None
        The data directory, which holds one folder per corpus in the layout
        ``<name>/<split>.csv`` or ``<split>.csv.gz``. Default: the
        ``BILSTM_ATTN_DATA`` environment variable, else ``~/.cache/bilstm_attn``.
    download_if_missing : bool, default=True
        Where the files are absent, fetch them from the corpus's official source,
        check their published checksum, and convert them into the layout above
        inside ``data_home``. Nothing is downloaded when the files are present.

    Returns
    -------
    frame : pandas.DataFrame

    Raises
    ------
    DatasetNotFoundError
        The files are absent and cannot be downloaded (no network, or no official
        source with a published checksum); the message names the directory and the
        files expected there.
    ChecksumError
        A downloaded file does not match its published checksum; it was deleted.

    Examples
    --------
    >>> load_dataset("reviews", "test").shape
    (1000, 3)
    """
    if not isinstance(name, str) or (name not in CORPORA and name not in _GENERATED):
        known = ", ".join(repr(n) for n in sorted([*CORPORA, *_GENERATED]))
        raise ValueError(f"name must be one of {known}. Got {name!r} instead.")
    if name in _GENERATED:
        split = _check_split(name, split, tuple(_GENERATED[name]))
        return _GENERATED[name][split]()
    corpus = CORPORA[name]
    split = _check_split(name, split, corpus.splits)
    directory = resolve_data_home(data_home) / corpus.directory
    frame = corpus.read(directory, split)
    if frame is not None:
        return frame
    if not (download_if_missing and corpus.remotes):
        raise DatasetNotFoundError(_missing(corpus, split, directory, reason=None))
    try:
        _download(corpus, directory)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise DatasetNotFoundError(_missing(corpus, split, directory, reason=reason)) from error
    frame = corpus.read(directory, split)
    if frame is None:  # the conversion is ours; this would be a bug in it
        raise DatasetNotFoundError(_missing(corpus, split, directory, reason="bad conversion"))
    return frame


def _check_split(name: str, split: object, splits: tuple[str, ...]) -> str:
    """The split asked for, or the default one (``None``: train, else the only split)."""
    if split is None and "train" in splits:
        return "train"
    if split is None and len(splits) == 1:
        return splits[0]
    if split not in splits:
        listed = ", ".join(repr(s) for s in splits)
        raise ValueError(f"split of {name!r} must be one of {listed}. Got {split!r} instead.")
    return split


def _download(corpus: Corpus, directory: Path) -> None:
    """Fetch every remote file into a staging folder, convert, then clean up.

    A download that fails leaves nothing behind: not even the folders it made.
    """
    assert corpus.convert is not None
    made = [p for p in (directory, *directory.parents) if not p.exists()]  # deepest first
    staging = directory / ".download"
    try:
        try:
            downloads = {remote.filename: fetch(remote, staging) for remote in corpus.remotes}
            corpus.convert(downloads, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        for folder in made:
            try:
                folder.rmdir()  # only if empty: a file a user put there stays
            except OSError:
                break
        raise


def _missing(corpus: Corpus, split: str, directory: Path, reason: object) -> str:
    message = (
        f"Dataset {corpus.name!r} (split {split!r}) is not in {directory}: expected "
        f"{corpus.expected(split)} there."
    )
    if reason is not None:
        message += f" Downloading it from its official source failed: {reason}."
    elif not corpus.remotes:
        message += " It has no official source with a published checksum to download from."
    else:
        message += " Downloading is off (download_if_missing=False)."
    return (
        f"{message} Place the files there, or point data_home (or the BILSTM_ATTN_DATA "
        f"environment variable) at a directory that has them."
    )
