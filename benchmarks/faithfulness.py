"""Faithfulness of attention, integrated gradients and occlusion against a random baseline.

    python benchmarks/faithfulness.py [--n-docs 200] [--params '{"attention": "additive"}']

Trains three classifiers (the bundled review corpus; SST-2 with defaults on its full train
split; IMDB with defaults on a 5,000-review sample of train), explains held-out texts with
every method, and prints the summary of ``bilstm_attn.faithfulness.faithfulness``: AOPC
comprehensiveness (higher is more faithful), AOPC sufficiency (lower is better), and the
agreement between methods (Kendall tau, top-5 overlap). On the bundled corpus it also
reports how often each method's top word is a word that truly decides the label.
``--params`` (JSON) is passed to all three classifiers.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset, make_reviews
from bilstm_attn.explain import explain
from bilstm_attn.faithfulness import faithfulness

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def read(name: str, split: str) -> pd.DataFrame:
    return load_dataset(name, split, DATA, download_if_missing=False)


def corpora(n_docs: int, params: dict):
    train, test = make_reviews(4000, random_state=0), make_reviews(1000, random_state=1)
    bundled = BiLSTMAttentionClassifier(
        **{"embedding_dim": 64, "hidden_size": 64, "max_epochs": 8, "random_state": 0, **params}
    )
    yield "bundled reviews", bundled, train["text"], train["label"], test.iloc[:n_docs]
    sst = read("sst2", "train")
    yield (
        "SST-2",
        BiLSTMAttentionClassifier(**{"random_state": 0, **params}),
        sst["text"],
        sst["label"],
        read("sst2", "dev").sample(n_docs, random_state=0),
    )
    imdb = read("imdb", "train").sample(5000, random_state=0)
    yield (
        "IMDB (5k train sample)",
        BiLSTMAttentionClassifier(**{"random_state": 0, **params}),
        imdb["text"],
        imdb["label"],
        read("imdb", "test").sample(n_docs // 2, random_state=0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-docs", type=int, default=200)
    parser.add_argument("--params", type=json.loads, default={}, help="estimator parameters")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    print(f"parameters: {args.params or 'defaults'}")
    for name, clf, X, y, held_out in corpora(args.n_docs, args.params):
        started = time.perf_counter()
        clf.fit(X, y)
        fitted = time.perf_counter() - started
        started = time.perf_counter()
        result = faithfulness(clf, held_out["text"])
        print(
            f"\n## {name}: accuracy {clf.score(held_out['text'], held_out['label']):.3f} "
            f"on {len(held_out)} held-out texts; fit {fitted:.0f}s, "
            f"faithfulness {time.perf_counter() - started:.0f}s"
        )
        print(result.summary.round(3).to_string())
        if "rationale" in held_out:
            chance = np.mean(
                [len(r) / len(t.split()) for r, t in zip(held_out["rationale"], held_out["text"])]
            )
            print(f"\ntop word is a deciding word (chance {chance:.3f}):")
            for method in ("attention", "integrated_gradients", "occlusion"):
                found = explain(clf, held_out["text"], method)
                hits = np.mean(
                    [int(np.argmax(e.weights)) in r for e, r in zip(found, held_out["rationale"])]
                )
                print(f"- {method}: {hits:.3f}")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
