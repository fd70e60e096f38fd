"""Peak memory of ``bilstm-attn predict`` on a large file: chunked against all at once.

    python benchmarks/predict_memory.py [--copies 2] [--chunksizes 1000 10000 0]

Writes a CSV of IMDB's 50,000 reviews (train and test, ``--copies`` times over) from
``../shared/data``, trains a small model on 2,000 of them, then runs ``bilstm-attn
predict`` on the file in a fresh process for each chunk size and reports the process's
peak resident memory (``ru_maxrss``) and rows per second, side by side. Chunk size 0 means
one chunk holding the whole file (the baseline: what reading it with a plain
``pd.read_csv`` would cost). The model, file and outputs go to ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset

# The command in a fresh process that prints its own peak resident memory (KiB) at the end.
MEASURED = (
    "import resource, sys\n"
    "from bilstm_attn.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(status)\n"
)
HERE = Path(__file__).resolve().parent
DATA = HERE.parent / ".." / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--chunksizes", type=int, nargs="+", default=[1000, 10000, 0])
    parser.add_argument("--data-home", default=DATA)
    args = parser.parse_args()
    out = HERE / "out" / "predict_memory"
    out.mkdir(parents=True, exist_ok=True)

    reviews = pd.concat(
        [load_dataset("imdb", split, args.data_home) for split in ("train", "test")]
    )
    big = pd.concat([reviews] * args.copies, ignore_index=True)
    path = out / "reviews.csv"
    big.to_csv(path, index=False)
    sample = reviews.sample(2000, random_state=0)
    params = dict(embedding_dim=32, hidden_size=32, max_epochs=1, max_length=400, random_state=0)
    BiLSTMAttentionClassifier(**params).fit(sample["text"], sample["label"]).save(out / "model")
    print(f"{len(big)} rows, {path.stat().st_size / 2**20:.0f} MiB of CSV")

    rows = []
    for chunksize in args.chunksizes:
        size = chunksize or len(big)
        command = [sys.executable, "-c", MEASURED, "predict", str(out / "model"),
                   str(path), "-o", str(out / f"p{chunksize}.csv"), "--chunksize", str(size),
                   "--quiet"]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak_kib = int(done.stderr.strip().splitlines()[-1])
        rows.append(
            {
                "chunksize": "whole file" if chunksize == 0 else chunksize,
                "peak_rss_mib": round(peak_kib / 1024),
                "rows_per_s": round(len(big) / seconds),
            }
        )
        print(json.dumps(rows[-1]))
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
