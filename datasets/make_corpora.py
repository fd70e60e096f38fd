"""Write the bundled corpora from the library's own generators.

    python datasets/make_corpora.py

writes ``datasets/reviews/{train,test}.csv.gz`` (text, label, rationale) and
``datasets/dates/{train,test}.csv.gz`` (source, target), the data that ``bilstm-attn demo``
and ``bilstm-attn demo --translator`` train on in memory (same seeds, same texts).
``rationale`` holds the positions, in ``text.split()``, of the words that decide the
label, space-separated.
The files are deterministic (gzip with mtime 0); a test checks that they equal what the
generator makes.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd

from bilstm_attn.datasets import make_dates, make_reviews

HERE = Path(__file__).resolve().parent
REVIEW_SPLITS = {"train": (4000, 0), "test": (1000, 1)}  # split: (size, seed)
DATE_SPLITS = {"train": (6000, 0), "test": (1000, 1)}


def review_split(split: str) -> pd.DataFrame:
    """One split of the bundled review corpus, as the generator makes it."""
    size, seed = REVIEW_SPLITS[split]
    return make_reviews(size, random_state=seed)


def date_split(split: str) -> pd.DataFrame:
    """One split of the bundled date corpus, as the generator makes it."""
    size, seed = DATE_SPLITS[split]
    return make_dates(size, random_state=seed)


def write_csv_gz(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buffer.getvalue().encode("utf-8"))


def main() -> None:
    out = HERE / "reviews"
    out.mkdir(exist_ok=True)
    for split in REVIEW_SPLITS:
        frame = review_split(split)
        frame["rationale"] = [" ".join(map(str, positions)) for positions in frame["rationale"]]
        write_csv_gz(frame, out / f"{split}.csv.gz")
        print(f"wrote {out / f'{split}.csv.gz'}: {len(frame)} reviews")
    out = HERE / "dates"
    out.mkdir(exist_ok=True)
    for split in DATE_SPLITS:
        write_csv_gz(date_split(split), out / f"{split}.csv.gz")
        print(f"wrote {out / f'{split}.csv.gz'}: {DATE_SPLITS[split][0]} dates")


if __name__ == "__main__":
    main()
