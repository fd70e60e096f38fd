"""``predict_proba`` in float32, bf16 and dynamic int8, side by side on the same model.

    python benchmarks/int8_prediction.py [--n-train 10000] [--n-test 3000] [--repeats 3]

One classifier (default parameters, ``max_epochs=4``, trained in float32 on the first
``--n-train`` of a seeded shuffle of IMDB's training reviews, kept in
``benchmarks/out/int8/model``) predicts the first ``--n-test`` of a seeded shuffle of
IMDB's test reviews in each variant:

- ``fp32``: as fitted, ``precision="fp32"``;
- ``bf16``: ``precision="bf16"`` (autocast; without native bf16 units the LSTM stays
  float32 and the matrix products are converted in software);
- ``int8 dynamic, <engine>``: ``torch.ao.quantization.quantize_dynamic`` of the LSTMs
  and linear layers (weights int8, activations quantized per batch), for each quantized
  engine this torch has (``x86`` is fbgemm with oneDNN, ``onednn`` is oneDNN's int8
  path, which uses AMX where the CPU has it);
- ``int8 dynamic linear only, <engine>``: the same for the linear layers alone.

Every variant runs on the same texts, the variants alternating round by round; each
figure is the median over ``--repeats`` rounds. Accuracy, agreement with the float32
labels and the largest probability difference are reported for each. The record goes to
``benchmarks/results/int8-prediction.jsonl``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bilstm_attn import BiLSTMAttentionClassifier, load
from bilstm_attn._precision import resolve_precision
from bilstm_attn.datasets import load_dataset

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import append  # noqa: E402

DATA = HERE.parents[0] / ".." / "shared" / "data"
OUT = HERE / "out" / "int8"


def _sample(split: str, n: int) -> tuple[list[str], np.ndarray]:
    frame = load_dataset("imdb", split, DATA).sample(frac=1.0, random_state=0).iloc[:n]
    return list(frame["text"]), frame["label"].to_numpy()


def _model(n_train: int) -> BiLSTMAttentionClassifier:
    path = OUT / f"model-{n_train}"
    if (path / "config.json").exists():
        return load(path)
    texts, labels = _sample("train", n_train)
    clf = BiLSTMAttentionClassifier(max_epochs=4, random_state=0, precision="fp32")
    clf.fit(texts, labels)
    clf.save(path)
    return clf


def _quantized(clf: BiLSTMAttentionClassifier, layers: set, engine: str):
    torch.backends.quantized.engine = engine
    variant = copy.deepcopy(clf)
    variant.module_ = torch.ao.quantization.quantize_dynamic(
        variant.module_, layers, dtype=torch.qint8
    )
    return variant, engine


def variants(clf: BiLSTMAttentionClassifier) -> dict:
    found = {"fp32": (clf, None), "bf16": (clf, None)}
    for engine in ("x86", "onednn"):
        if engine not in torch.backends.quantized.supported_engines:
            continue
        found[f"int8 dynamic, {engine}"] = _quantized(clf, {nn.LSTM, nn.Linear}, engine)
        found[f"int8 dynamic linear only, {engine}"] = _quantized(clf, {nn.Linear}, engine)
    return found


def measure(args: argparse.Namespace) -> dict:
    clf = _model(args.n_train)
    texts, labels = _sample("test", args.n_test)
    tokens = sum(len(ids) for ids in (e.ids for e in clf.encode(texts)))
    runs = variants(clf)
    default_engine = torch.backends.quantized.engine
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    proba: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, (model, engine) in runs.items():
            torch.backends.quantized.engine = engine or default_engine
            model.set_params(precision="bf16" if name == "bf16" else "fp32")
            started = time.perf_counter()
            proba[name] = model.predict_proba(texts)
            seconds[name].append(time.perf_counter() - started)
    clf.set_params(precision="fp32")
    reference = proba["fp32"].argmax(axis=1)
    figures = {}
    for name in runs:
        predicted = clf.classes_[proba[name].argmax(axis=1)]
        median = float(np.median(seconds[name]))
        figures[name] = {
            "docs_per_s": len(texts) / median,
            "tokens_per_s": tokens / median,
            "seconds": seconds[name],
            "accuracy": float(np.mean(predicted == labels)),
            "agreement_with_fp32": float(np.mean(proba[name].argmax(axis=1) == reference)),
            "max_probability_difference": float(np.abs(proba[name] - proba["fp32"]).max()),
        }
    return {
        "n_train": args.n_train,
        "n_test": len(texts),
        "tokens": tokens,
        "threads": torch.get_num_threads(),
        "variants": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=3_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result = measure(args)
    fp32 = result["variants"]["fp32"]["docs_per_s"]
    print(f"{result['n_test']} IMDB test reviews, {result['tokens']:,} pieces")
    for name, row in result["variants"].items():
        print(
            f"{name:34} {row['docs_per_s']:8.1f} docs/s  x{row['docs_per_s'] / fp32:.2f}  "
            f"accuracy {row['accuracy']:.4f}  agreement {row['agreement_with_fp32']:.4f}  "
            f"max |dp| {row['max_probability_difference']:.4f}"
        )
    append(
        "int8-prediction", result, corpus="imdb", threads=result["threads"],
        repeats=args.repeats, auto_picks=resolve_precision("auto", torch.device("cpu")),
    )  # fmt: skip


if __name__ == "__main__":
    main()
