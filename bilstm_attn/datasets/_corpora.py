"""The public corpora: where their files are, how to read them, how to fetch them.

Every corpus is read from ``<data_home>/<directory>/``. Classification corpora use the
layout ``<split>.csv`` or ``<split>.csv.gz`` (a header row, RFC 4180 quoting), which is
also what a download is converted to. Parallel corpora keep their distributions' own
line-aligned files (Multi30k's ``<split>.<lang>.gz``, the book's ``date.txt``), which
are what their official sources serve.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bilstm_attn.datasets._download import Remote, write_csv

__all__ = ["CORPORA", "Corpus"]


@dataclass(frozen=True)
class Corpus:
    """How to read one named corpus.

    ``read(directory, split)`` returns the frame, or ``None`` when the split's files are
    absent. ``expected(split)`` names those files, in words. ``convert(downloads, directory)``
    turns the fetched ``remotes`` into the files ``read`` wants.
    """

    name: str
    directory: str
    splits: tuple[str, ...]
    description: str
    read: Callable[[Path, str], pd.DataFrame | None]
    expected: Callable[[str], str]
    remotes: tuple[Remote, ...] = ()
    convert: Callable[[dict[str, Path], Path], None] | None = None


# --------------------------------------------------------------------- reading
def _csv_files(split: str) -> list[str]:
    return [f"{split}.csv", f"{split}.csv.gz"]


def _csv_expected(split: str) -> str:
    return f"{split}.csv or {split}.csv.gz"


def _read_csv(directory: Path, split: str, text_columns: tuple[str, ...]) -> pd.DataFrame | None:
    for name in _csv_files(split):
        path = directory / name
        if path.is_file():
            # Text columns stay strings: an empty review is "", never NaN.
            return pd.read_csv(
                path,
                dtype=dict.fromkeys(text_columns, str),
                keep_default_na=False,
                na_values={},
                encoding="utf-8",
            )
    return None


def _csv_reader(
    tidy: Callable[[pd.DataFrame], pd.DataFrame] = lambda frame: frame,
    text_columns: tuple[str, ...] = ("text",),
) -> Callable[[Path, str], pd.DataFrame | None]:
    def read(directory: Path, split: str) -> pd.DataFrame | None:
        frame = _read_csv(directory, split, text_columns)
        return None if frame is None else tidy(frame)

    return read


def _read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return [line.rstrip("\r\n") for line in handle]


def _first_file(directory: Path, names: list[str]) -> Path | None:
    return next((directory / n for n in names if (directory / n).is_file()), None)


def _parallel_reader(source: str, target: str) -> Callable[[Path, str], pd.DataFrame | None]:
    """Line-aligned ``<split>.<lang>[.gz]`` files (Multi30k, the Korean news corpus)."""

    def read(directory: Path, split: str) -> pd.DataFrame | None:
        paths = [_first_file(directory, _parallel_files(split, lang)) for lang in (source, target)]
        if None in paths:
            return None
        sources, targets = (_read_lines(p) for p in paths if p is not None)
        if len(sources) != len(targets):
            raise ValueError(
                f"{paths[0]} has {len(sources)} lines but {paths[1]} has {len(targets)}; "
                f"parallel files must align line by line."
            )
        return pd.DataFrame({"source": sources, "target": targets})

    return read


def _parallel_files(split: str, lang: str) -> list[str]:
    return [f"{split}.{lang}.gz", f"{split}.{lang}"]


def _book_reader(stem: str) -> Callable[[Path, str], pd.DataFrame | None]:
    """*Deep Learning from Scratch 2*'s ``source_target`` lines, with the book's split.

    The book shuffles with ``np.random.RandomState(1984)`` and holds out the last 10%;
    ``train`` and ``test`` follow it. The spaces that pad each source to a fixed width
    (part of the file format) are removed, as are the target's.
    """

    def read(directory: Path, split: str) -> pd.DataFrame | None:
        path = _first_file(directory, [f"{stem}.txt", f"{stem}.txt.gz"])
        if path is None:
            return None
        pairs = [line.split("_", 1) for line in _read_lines(path) if line.strip()]
        order = np.arange(len(pairs))
        np.random.RandomState(1984).shuffle(order)
        cut = len(order) - len(order) // 10
        chosen = order[:cut] if split == "train" else order[cut:]
        return pd.DataFrame(
            {
                "source": [pairs[i][0].strip(" ") for i in chosen],
                "target": [pairs[i][1].strip(" ") for i in chosen],
            }
        )

    return read


def _read_tatoeba(directory: Path, split: str) -> pd.DataFrame | None:
    path = _first_file(directory, ["tatoeba_kor-eng.txt", "tatoeba_kor-eng.txt.gz"])
    if path is None:
        return None
    rows = [line.split("\t") for line in _read_lines(path) if line.strip()]
    return pd.DataFrame(
        {
            "source": [row[1] for row in rows],
            "target": [row[0] for row in rows],
            "attribution": [row[2] if len(row) > 2 else "" for row in rows],
        }
    )


def _read_sms(directory: Path, split: str) -> pd.DataFrame | None:
    return _read_csv(directory, "sms_spam", ("text",))


def _trec(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.rename(columns={"label_coarse": "label"})
    return frame[["text", "label", "label_fine"]]


def _ag_news(frame: pd.DataFrame) -> pd.DataFrame:
    text = frame["title"].str.cat(frame["description"], sep=" ")
    return pd.DataFrame(
        {
            "text": text,
            "label": frame["label"],
            "title": frame["title"],
            "description": frame["description"],
        }
    )


# --------------------------------------------------------------------- converting
def _imdb(downloads: dict[str, Path], directory: Path) -> None:
    pattern = re.compile(r"aclImdb/(train|test)/(neg|pos)/(\d+)_\d+\.txt$")
    rows: dict[str, list[tuple[int, int, str]]] = {"train": [], "test": []}
    with tarfile.open(downloads["aclImdb_v1.tar.gz"], "r:gz") as archive:
        for member in archive:
            match = pattern.search(member.name)
            if match and member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                text = handle.read().decode("utf-8")
                label = int(match[2] == "pos")
                rows[match[1]].append((label, int(match[3]), text))
    for split, found in rows.items():  # negatives, then positives, each by review id
        found.sort(key=lambda row: row[:2])
        frame = pd.DataFrame({"text": [r[2] for r in found], "label": [r[0] for r in found]})
        write_csv(frame, directory / f"{split}.csv.gz")


def _sst2(downloads: dict[str, Path], directory: Path) -> None:
    with zipfile.ZipFile(downloads["SST-2.zip"]) as archive:
        for split in ("train", "dev"):
            lines = archive.read(f"SST-2/{split}.tsv").decode("utf-8").splitlines()[1:]
            fields = [line.rsplit("\t", 1) for line in lines if line]
            frame = pd.DataFrame(
                {
                    "text": [sentence.rstrip(" ") for sentence, _ in fields],
                    "label": [int(label) for _, label in fields],
                }
            )
            write_csv(frame, directory / f"{split}.csv.gz")


def _nsmc(downloads: dict[str, Path], directory: Path) -> None:
    for split in ("train", "test"):
        text = downloads[f"ratings_{split}.txt"].read_text(encoding="utf-8")
        rows = [line.split("\t") for line in text.split("\n")[1:] if line]
        frame = pd.DataFrame(
            {
                "text": [row[1] for row in rows],
                "label": [int(row[2]) for row in rows],
                "id": [int(row[0]) for row in rows],
            }
        )
        write_csv(frame, directory / f"{split}.csv.gz")


def _trec_convert(downloads: dict[str, Path], directory: Path) -> None:
    for split, filename in (("train", "train_5500.label"), ("test", "TREC_10.label")):
        # One stray byte (0xF0) in the training file becomes a space, as HF datasets does.
        text = downloads[filename].read_bytes().replace(b"\xf0", b" ").decode("latin-1")
        rows = [line.split(" ", 1) for line in text.splitlines() if line.strip()]
        frame = pd.DataFrame(
            {
                "text": [question for _, question in rows],
                "label_coarse": [fine.split(":", 1)[0] for fine, _ in rows],
                "label_fine": [fine for fine, _ in rows],
            }
        )
        write_csv(frame, directory / f"{split}.csv.gz")


def _newsgroups(downloads: dict[str, Path], directory: Path) -> None:
    pattern = re.compile(r"20news-bydate-(train|test)/([^/]+)/(\d+)$")
    rows: dict[str, list[tuple[str, int, str]]] = {"train": [], "test": []}
    with tarfile.open(downloads["20news-bydate.tar.gz"], "r:gz") as archive:
        for member in archive:
            match = pattern.search(member.name)
            if match and member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                rows[match[1]].append((match[2], int(match[3]), handle.read().decode("latin-1")))
    for split, found in rows.items():
        found.sort(key=lambda row: row[:2])
        frame = pd.DataFrame(
            {
                "text": [r[2] for r in found],
                "label": [r[0] for r in found],
                "id": [r[1] for r in found],
            }
        )
        write_csv(frame, directory / f"{split}.csv.gz")


def _ag_news_convert(downloads: dict[str, Path], directory: Path) -> None:
    for split in ("train", "test"):
        with open(downloads[f"{split}.csv"], encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        frame = pd.DataFrame(
            {
                "title": [row[1] for row in rows],
                "description": [row[2] for row in rows],
                "label": [int(row[0]) for row in rows],
            }
        )
        write_csv(frame, directory / f"{split}.csv.gz")


def _keep_as_served(downloads: dict[str, Path], directory: Path) -> None:
    """The served files already have the layout the reader wants: move them in."""
    for filename, path in downloads.items():
        os.replace(path, directory / filename)


# --------------------------------------------------------------------- the corpora
_GITHUB = "https://raw.githubusercontent.com"
_MULTI30K = f"{_GITHUB}/multi30k/dataset/master/data/task1/raw"
# sha256 of the raw files: the same bytes as ../shared/data/multi30k (see its manifest).
_MULTI30K_SHA256 = {
    "train.de": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.fr": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.de": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.fr": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
    "test_2016_flickr.de": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.fr": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
}
_MULTI30K_SPLITS = ("train", "val", "test_2016_flickr")


def _multi30k(source: str) -> Corpus:
    return Corpus(
        name="multi30k" if source == "de" else f"multi30k_{source}",
        directory="multi30k",
        splits=_MULTI30K_SPLITS,
        description=f"Multi30k task 1 image captions, {source} -> en (translation)",
        read=_parallel_reader(source, "en"),
        expected=lambda split: f"{split}.{source}.gz and {split}.en.gz",
        remotes=tuple(
            Remote(
                f"{_MULTI30K}/{split}.{lang}.gz",
                f"sha256:{_MULTI30K_SHA256[f'{split}.{lang}']}",
                f"{split}.{lang}.gz",
            )
            for split in _MULTI30K_SPLITS
            for lang in (source, "en")
        ),
        convert=_keep_as_served,
    )


def _book(stem: str, sha256: str, task: str) -> Corpus:
    return Corpus(
        name=f"dlfs2_{stem}",
        directory="dlfs2",
        splits=("train", "test"),
        description=f"Deep Learning from Scratch 2 {task}, the book's 90/10 split (seq2seq)",
        read=_book_reader(stem),
        expected=lambda split: f"{stem}.txt or {stem}.txt.gz",
        remotes=(
            Remote(
                f"{_GITHUB}/oreilly-japan/deep-learning-from-scratch-2/master/dataset/{stem}.txt",
                f"sha256:{sha256}",
                f"{stem}.txt",
            ),
        ),
        convert=_keep_as_served,
    )


_TREC = "https://cogcomp.seas.upenn.edu/Data/QA/QC"
_NSMC = f"{_GITHUB}/e9t/nsmc/master"
_AG_NEWS = f"{_GITHUB}/mhjabreel/CharCnn_Keras/master/data/ag_news_csv"

CORPORA: dict[str, Corpus] = {
    corpus.name: corpus
    for corpus in (
        Corpus(
            "imdb",
            "imdb",
            ("train", "test"),
            "IMDB movie reviews, Maas et al. 2011 (binary sentiment, 0/1)",
            _csv_reader(),
            _csv_expected,
            (
                Remote(
                    "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                    "sha256:c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                    "aclImdb_v1.tar.gz",
                ),
            ),
            _imdb,
        ),
        Corpus(
            "sst2",
            "sst2",
            ("train", "dev"),
            "SST-2 from GLUE (binary sentiment of sentences and phrases, 0/1)",
            _csv_reader(),
            _csv_expected,
            (
                Remote(
                    "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
                    "sha256:d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa",
                    "SST-2.zip",
                ),
            ),
            _sst2,
        ),
        Corpus(
            "nsmc",
            "nsmc",
            ("train", "test"),
            "Naver Sentiment Movie Corpus, Korean reviews (binary sentiment, 0/1)",
            _csv_reader(),
            _csv_expected,
            (
                Remote(
                    f"{_NSMC}/ratings_train.txt",
                    "sha256:e03b7d14e9e41be8d464a28057cd25d7396c53e67aa7fd5f7e552c59b0ee2940",
                    "ratings_train.txt",
                ),
                Remote(
                    f"{_NSMC}/ratings_test.txt",
                    "sha256:8ac9f64052f11dbf6ae0acb5e038f03d90a76f0eda7820cfb3a92d02edfcebda",
                    "ratings_test.txt",
                ),
            ),
            _nsmc,
        ),
        Corpus(
            "trec",
            "trec",
            ("train", "test"),
            "TREC question classification, Li & Roth 2002 (6 coarse classes; label_fine kept)",
            _csv_reader(_trec),
            _csv_expected,
            (
                Remote(
                    f"{_TREC}/train_5500.label",
                    "sha256:9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3",
                    "train_5500.label",
                ),
                Remote(
                    f"{_TREC}/TREC_10.label",
                    "sha256:033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e",
                    "TREC_10.label",
                ),
            ),
            _trec_convert,
        ),
        Corpus(
            "20newsgroups",
            "20newsgroups",
            ("train", "test"),
            "20 Newsgroups, bydate split, whole messages (20 topics)",
            _csv_reader(),
            _csv_expected,
            (
                Remote(
                    "https://ndownloader.figshare.com/files/5975967",
                    "sha256:8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610",
                    "20news-bydate.tar.gz",
                ),
            ),
            _newsgroups,
        ),
        Corpus(
            "ag_news",
            "ag_news",
            ("train", "test"),
            "AG News, Zhang et al. 2015 (4 topics, labels 1-4: World, Sports, Business, Sci/Tech)",
            _csv_reader(_ag_news, ("title", "description")),
            _csv_expected,
            (
                Remote(  # only an MD5 is published for the training file (torchtext)
                    f"{_AG_NEWS}/train.csv", "md5:b1a00f826fdfbd249f79597b59e1dc12", "train.csv"
                ),
                Remote(
                    f"{_AG_NEWS}/test.csv",
                    "sha256:521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                    "test.csv",
                ),
            ),
            _ag_news_convert,
        ),
        Corpus(
            "eraser_movies",
            "eraser_movies",
            ("train", "val", "test"),
            "ERASER movie reviews with human rationales (binary sentiment, 0/1)",
            _csv_reader(),
            _csv_expected,
        ),
        Corpus(
            "sms_spam",
            "sms_spam",
            ("all",),
            "SMS Spam Collection v.1 (ham/spam; no official split)",
            _read_sms,
            lambda split: "sms_spam.csv",
        ),
        _multi30k("de"),
        _multi30k("fr"),
        _book("date", "62e66a301ce8537868e725512d2a45663fc366526b7e42028cb703bda2b1c79a", "dates"),
        _book(
            "addition",
            "34e0746f5014c11311c9452ee9050bf14e38eca44ec4aaf4d81eba2b38674009",
            "additions",
        ),
        Corpus(
            "tatoeba_ko_en",
            "ko_en",
            ("all",),
            "Tatoeba Korean-English sentence pairs, manythings.org export (ko -> en)",
            _read_tatoeba,
            lambda split: "tatoeba_kor-eng.txt",
        ),
        Corpus(
            "korean_english_news",
            "ko_en",
            ("dev", "test"),
            "Korean-English news corpus v1, Park et al. (ko -> en)",
            lambda directory, split: _parallel_reader("ko", "en")(
                directory, f"korean-english-park.{split}"
            ),
            lambda split: f"korean-english-park.{split}.ko and korean-english-park.{split}.en",
        ),
    )
}
