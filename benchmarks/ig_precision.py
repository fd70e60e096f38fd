"""Integrated gradients in float32 (as the library computes them) and under bf16 autocast.

    python benchmarks/ig_precision.py [--n-train 2000] [--n-docs 40] [--rounds 2]

The library computes explanations in float32 whatever ``precision`` says, so that they
agree across machines. This measures what bf16 would buy for integrated gradients where
the CPU has bf16 units: one classifier (default parameters, ``max_epochs=2``, the first
``--n-train`` of a seeded shuffle of IMDB's training reviews) explains the first
``--n-docs`` of a seeded shuffle of IMDB's test reviews with
``method="integrated_gradients"`` (50 steps), once as the library does and once with the
forward and backward passes under ``torch.autocast("cpu", dtype=torch.bfloat16)`` (the
library's own ``autocast`` helper swapped for the run; captum's sums stay float32), the
two alternating over ``--rounds`` rounds. Reported: seconds per review (median of the
rounds), the largest and the median completeness error ``|delta|``, and the Spearman
correlation of the word scores between the two. The record goes to
``benchmarks/results/ig-precision.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn import explain as explain_module
from bilstm_attn._precision import autocast
from bilstm_attn.datasets import load_dataset

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import append  # noqa: E402

DATA = HERE.parent / ".." / "shared" / "data"


def explain(clf, texts: list[str], bf16: bool):
    if bf16:
        explain_module.autocast = lambda precision, device: autocast("bf16", device)
    try:
        started = time.perf_counter()
        found = clf.explain(texts, method="integrated_gradients")
        return found, (time.perf_counter() - started) / len(texts)
    finally:
        explain_module.autocast = autocast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-docs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-home", default=str(DATA))
    args = parser.parse_args()
    train = load_dataset("imdb", "train", args.data_home).sample(frac=1, random_state=0)
    test = load_dataset("imdb", "test", args.data_home).sample(frac=1, random_state=0)
    train = train.iloc[: args.n_train]
    clf = BiLSTMAttentionClassifier(max_epochs=2, random_state=0)
    clf.fit(list(train["text"]), train["label"].to_numpy())
    texts = list(test["text"].iloc[: args.n_docs])
    explain(clf, texts[:3], False)  # warm-up, both
    explain(clf, texts[:3], True)
    seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
    found = {}
    for round_ in range(args.rounds):
        for label in ("fp32", "bf16") if round_ % 2 == 0 else ("bf16", "fp32"):
            found[label], per_review = explain(clf, texts, label == "bf16")
            seconds[label].append(per_review)
    figures = {}
    for label, explanations in found.items():
        deltas = np.abs([e.delta for e in explanations])
        figures[label] = {
            "seconds_per_review": float(np.median(seconds[label])),
            "seconds": seconds[label],
            "max_abs_delta": float(deltas.max()),
            "median_abs_delta": float(np.median(deltas)),
        }
    rho = [
        spearmanr(a.weights, b.weights).statistic
        for a, b in zip(found["fp32"], found["bf16"])
        if len(a.weights) > 1
    ]
    figures["spearman_fp32_bf16_median"] = float(np.median(rho))
    print(figures, flush=True)
    append("ig-precision", figures, n_train=args.n_train, n_docs=args.n_docs, n_steps=50)


if __name__ == "__main__":
    main()
