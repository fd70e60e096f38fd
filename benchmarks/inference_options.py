"""Prediction speed options side by side: batch sizes, threads, inference mode, int8, bf16.

    python benchmarks/inference_options.py [--corpus imdb] [--n-docs 3000] [--repeats 3]

One model (default parameters, one epoch on ``--n-docs`` training texts), the same
texts, each option timed ``--repeats`` times in turn (median): ``predict_proba`` from raw
strings, so tokenization is included. Every option's predictions are compared with the
default's (largest difference in probability), so a faster option that changes the
answers shows it.

- ``default``: length-sorted batches of at most ``batch_size * 192`` padded pieces,
  ``torch.inference_mode``, the batches spread over one-thread workers, one per torch
  thread (``inference_map``);
- ``batches one after another``: each batch with all torch threads, in the caller's
  thread (version 0.2 before the workers);
- ``tokens per batch N``: other budgets for the padded pieces of a batch;
- ``encoding all first``: the texts encoded in the caller's thread, all before the
  network runs (version 0.2 before the background encoding), one global length sort;
- ``additive scores unfused``: a matrix product then tanh instead of oneDNN's fused
  linear + tanh for the pooling scores;
- ``256 texts per batch``: the earlier rule (sorted, 256 texts whatever their length);
- ``no_grad``: ``torch.no_grad`` in place of ``torch.inference_mode``;
- ``1 thread``: ``torch.set_num_threads(1)``;
- ``int8 dynamic``: ``torch.ao.quantization.quantize_dynamic`` on the LSTMs and linear
  layers (weights int8, activations quantized on the fly);
- ``bf16 autocast``: CPU autocast to bfloat16, batches one after another (autocast
  holds in the thread that enters it only).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset
from bilstm_attn.text import encode, sorted_batches

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def variants(clf: BiLSTMAttentionClassifier):
    """(name, context manager factory, model) for every option measured."""
    nothing = contextlib.nullcontext

    def budget(tokens: int):
        return lambda: _patched(
            clf, "_inference_batches", lambda lengths: sorted_batches(lengths, tokens)
        )

    def per_text(count: int):
        batches = lambda lengths: [  # noqa: E731
            part for part in np.array_split(np.argsort(lengths, kind="stable"),
                                            max(1, -(-len(lengths) // count)))
        ]  # fmt: skip
        return lambda: _patched(clf, "_inference_batches", batches)

    def threads(n: int):
        @contextlib.contextmanager
        def context():
            before = torch.get_num_threads()
            torch.set_num_threads(n)
            try:
                yield
            finally:
                torch.set_num_threads(before)

        return context

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantize_dynamic is deprecated in favour of torchao
        quantized = copy.deepcopy(clf)
        quantized.module_ = torch.ao.quantization.quantize_dynamic(
            quantized.module_, {nn.LSTM, nn.Linear}, dtype=torch.qint8
        )

    def encode_all_first(tokenizer, texts, max_length, truncation):
        yield np.arange(len(texts)), encode(tokenizer, texts, max_length, truncation)

    def one_after_another(function, items, device):
        with torch.inference_mode():
            yield from map(function, items)

    @contextlib.contextmanager
    def bf16_one_after_another():
        # autocast is per thread: it would not reach the workers
        with _patched_module("bilstm_attn._estimator", "inference_map", one_after_another):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                yield

    return [
        ("default", nothing, clf),
        (
            "batches one after another",
            lambda: _patched_module("bilstm_attn._estimator", "inference_map", one_after_another),
            clf,
        ),
        *[(f"tokens per batch {n:,}", budget(n), clf) for n in (4096, 8192, 16384, 32768)],
        (
            "encoding all first",
            lambda: _patched_module("bilstm_attn.classifier", "encode_ahead", encode_all_first),
            clf,
        ),
        (
            "additive scores unfused",
            lambda: _patched_module(
                "bilstm_attn.nn.attention", "_fused_tanh_linear_works", lambda: False
            ),
            clf,
        ),
        ("256 texts per batch", per_text(256), clf),
        ("no_grad instead of inference_mode", lambda: _no_grad_inference(), clf),
        ("1 thread", threads(1), clf),
        ("int8 dynamic quantization", nothing, quantized),
        ("bf16 autocast, batches one after another", bf16_one_after_another, clf),
    ]


@contextlib.contextmanager
def _patched(obj, name, value):
    setattr(obj, name, value)
    try:
        yield
    finally:
        delattr(obj, name)


@contextlib.contextmanager
def _patched_module(module_name, name, value):
    import importlib

    module = importlib.import_module(module_name)
    before = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, before)


@contextlib.contextmanager
def _no_grad_inference():
    before = torch.inference_mode
    torch.inference_mode = torch.no_grad  # what the classifier enters per call
    try:
        yield
    finally:
        torch.inference_mode = before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="imdb")
    parser.add_argument("--n-docs", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-home", default=DATA)
    args = parser.parse_args()
    frame = load_dataset(args.corpus, "train", args.data_home).sample(
        2 * args.n_docs, random_state=0
    )
    train, test = frame.iloc[: args.n_docs], list(frame["text"].iloc[args.n_docs :])
    clf = BiLSTMAttentionClassifier(max_epochs=1, validation_fraction=None, random_state=0)
    clf.fit(train["text"], train["label"])
    reference = clf.predict_proba(test)
    lengths = [len(ids) for ids in encode(clf.tokenizer_, test, clf.max_length, clf.truncation)]
    tokens = int(np.sum(lengths))
    options = variants(clf)
    seconds: dict[str, list[float]] = {name: [] for name, _, _ in options}
    differences: dict[str, float] = {}
    for _name, context, model in options:  # warm-up: first calls allocate and pack
        with context():
            model.predict_proba(test[:200])
    for _ in range(args.repeats):
        for name, context, model in options:
            with context():
                started = time.perf_counter()
                proba = model.predict_proba(test)
                seconds[name].append(time.perf_counter() - started)
            differences[name] = float(np.abs(proba - reference).max())
    default = float(np.median(seconds["default"]))
    n_batches = len(clf._inference_batches(np.asarray(lengths)))
    print(
        f"{args.corpus}: {len(test)} texts, {tokens:,} pieces, median of {args.repeats}, "
        f"{n_batches} default batches"
    )
    print("| option | tokens / s | x default | largest change in a probability |")
    print("|---|---:|---:|---:|")
    for name, _, _ in options:
        median = float(np.median(seconds[name]))
        print(f"| {name} | {tokens / median:,.0f} | {default / median:.2f} | "
              f"{differences[name]:.1e} |")  # fmt: skip
    print(json.dumps({"tokens": tokens, "seconds": seconds, "max_abs_diff": differences}))


if __name__ == "__main__":
    main()
