"""Accuracy and fit time of BiLSTMAttentionClassifier with default parameters on real corpora.

Reads ``../shared/data`` (or ``--data DIR``) in the layout ``<name>/<split>.csv[.gz]``:

    python benchmarks/real_corpora.py --corpus sst2 imdb

prints one line per corpus and, with ``--json FILE``, writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset

SPLITS = {"imdb": ("train", "test"), "sst2": ("train", "dev")}


def run(data: Path, name: str, seed: int, verbose: int) -> dict:
    train_split, test_split = SPLITS[name]
    train, test = load_dataset(name, train_split, data), load_dataset(name, test_split, data)
    clf = BiLSTMAttentionClassifier(random_state=seed, verbose=verbose)
    started = time.perf_counter()
    clf.fit(train["text"], train["label"])
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    accuracy = clf.score(test["text"], test["label"])
    predict_seconds = time.perf_counter() - started
    return {
        "corpus": name,
        "train": f"{train_split} ({len(train)})",
        "test": f"{test_split} ({len(test)})",
        "accuracy": round(accuracy, 4),
        "fit_seconds": round(fit_seconds, 1),
        "epochs": len(clf.history_),
        "best_epoch": clf.best_epoch_,
        "predict_seconds": round(predict_seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
    parser.add_argument("--corpus", nargs="+", choices=sorted(SPLITS), default=["sst2", "imdb"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's own choice)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    results = []
    for name in args.corpus:
        result = run(args.data, name, args.seed, args.verbose)
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
