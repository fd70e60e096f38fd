"""How close training and prediction come to the machine's limit: raw nn.LSTM, same shapes.

    python benchmarks/throughput.py [--corpus imdb] [--n-docs 4000] [--threads 2]
                                    [--repeats 3] [--params '{"attention": "additive"}']
                                    [--precisions fp32 bf16]

Side by side in one run, on the same texts, alternating so that a slow spell of the
machine hits both sides (each figure is the median of ``--repeats`` runs):

- ``library fit``: ``BiLSTMAttentionClassifier`` (default parameters, or ``--params``),
  one epoch, no validation split, timed from raw strings: tokenizer training, encoding,
  PPMI word vectors, batching, embedding, the exact BiLSTM, attention pooling, loss,
  backward, clipping, AdamW;
- ``library epoch``: the training epoch inside that fit (``history_[0]["seconds"]``):
  everything above but the once-per-fit work (tokenizer, encoding, word vectors), which
  a fit of several epochs spreads over all of them;
- ``library epoch, weights not averaged``: the same with ``average_decay=None``, for
  what the weight average (updated after every step) costs;
- ``raw LSTM fwd+bwd``: ``nn.LSTM(E, H, bidirectional=True, batch_first=True)`` forward
  and backward over random inputs (no embedding, attention, loss or optimizer, no
  gradient for the inputs) with exactly the shapes of the library's batches: the limit;
- ``library predict_proba``: from raw strings (validation, tokenization, batching, the
  network, probabilities);
- ``raw LSTM forward``: the same LSTM under ``inference_mode`` on the shapes of the
  library's prediction batches, one batch after another with all the torch threads: the
  limit; and the same batches spread over one-thread workers as the library's prediction
  spreads them (``inference_map``), for comparison.

Every path runs in each of ``--precisions`` (default: fp32, and bf16 where the CPU has
native bf16 units, where ``precision="auto"`` picks it): the library with that
``precision``, the raw LSTM under ``torch.autocast`` in it (bf16 only where oneDNN has a
bf16 LSTM for the CPU). Each precision's figures are one record of
``benchmarks/results/throughput.jsonl``, labelled with the precision and with what
``"auto"`` picks on this machine.

Tokens per second count real pieces (not padding) for both, so the ratio is the share
of the limit the library reaches. Naive baselines beside them show what the batching
buys: the raw LSTM on batches of random texts (padded to their longest), packed
sequences of random texts (timed on a tenth of those batches), and prediction in batches
of 256 texts in the given order.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn._base import draw_seed, inference_map
from bilstm_attn._precision import autocast, has_native_bf16, resolve_precision
from bilstm_attn.datasets import load_dataset, make_reviews
from bilstm_attn.nn import bf16_lstm_on_cpu
from bilstm_attn.text import bucket_batches, encode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import append

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


class RawLSTM:
    """A bare bidirectional ``nn.LSTM`` timed over batches of given lengths."""

    def __init__(self, input_size: int, hidden_size: int, precision: str = "fp32") -> None:
        torch.manual_seed(0)
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True, bidirectional=True)
        self.input_size = input_size
        self.precision = precision  # "fp32", or "bf16" under autocast

    def seconds(self, lengths: np.ndarray, batches, train: bool, packed: bool = False) -> float:
        device = self.lstm.weight_ih_l0.device
        total = 0.0
        for index in batches:
            x = torch.randn(len(index), int(lengths[index].max(initial=1)), self.input_size)
            started = time.perf_counter()
            if packed:
                x = pack_padded_sequence(
                    x, torch.from_numpy(lengths[index]).clamp(min=1), batch_first=True,
                    enforce_sorted=False,
                )  # fmt: skip
            if train:
                self.lstm.zero_grad(set_to_none=True)
                with autocast(self.precision, device):
                    out = self.lstm(x)[0]
                (out.data if packed else out).float().sum().backward()
            else:
                with torch.inference_mode(), autocast(self.precision, device):
                    self.lstm(x)
            total += time.perf_counter() - started
        return total

    def forward_in_workers(self, lengths: np.ndarray, batches) -> float:
        """Forward passes over the batches in one-thread workers (``inference_map``)."""
        shapes = [(len(b), int(lengths[b].max(initial=1)), self.input_size) for b in batches]
        inputs = torch.randn(max(map(math.prod, shapes), default=0))  # one buffer, views of it

        def run(shape: tuple[int, int, int]) -> None:
            with autocast(self.precision, inputs.device):  # per worker thread
                self.lstm(inputs[: math.prod(shape)].view(shape))

        started = time.perf_counter()
        for _ in inference_map(run, shapes, torch.device("cpu")):
            pass
        return time.perf_counter() - started


def corpus_texts(name: str, n_docs: int, data_home) -> tuple[list[str], np.ndarray]:
    if name == "reviews":
        frame = make_reviews(n_docs, random_state=0)
    else:
        frame = load_dataset(name, "train", data_home).sample(n_docs, random_state=0)
    return list(frame["text"]), frame["label"].to_numpy()


def measure(args: argparse.Namespace) -> dict[str, dict]:
    """Every path in every precision, the precisions alternating within each round;
    ``{precision: result}``."""
    texts, labels = corpus_texts(args.corpus, args.n_docs, args.data_home)
    params = {"max_epochs": 1, "validation_fraction": None, "random_state": 0, **args.params}
    clf = BiLSTMAttentionClassifier(**params).fit(texts[:200], labels[:200])  # warm-up
    lengths = np.fromiter(
        map(len, encode(clf.tokenizer_, texts, clf.max_length, clf.truncation)), np.int64
    )
    rng = np.random.default_rng(draw_seed(0))  # the generator fit draws its batches from
    train_batches = list(bucket_batches(lengths, clf.batch_size, rng))
    order = np.random.default_rng(0).permutation(len(lengths))
    random_batches = [order[i : i + clf.batch_size] for i in range(0, len(order), clf.batch_size)]
    predict_batches = clf._inference_batches(lengths)
    given_order = [np.arange(i, min(i + 256, len(lengths))) for i in range(0, len(lengths), 256)]
    raws = {p: RawLSTM(clf.embedding_dim, clf.hidden_size, p) for p in args.precisions}
    raw_runs = {p: p == "fp32" or bf16_lstm_on_cpu() for p in args.precisions}
    seconds: dict[str, dict[str, list[float]]] = {p: {} for p in args.precisions}

    for _ in range(args.repeats):
        for precision in args.precisions:
            times, raw = seconds[precision], raws[precision]
            settings = {**params, "precision": precision}
            if raw_runs[precision]:
                times.setdefault("raw_train", []).append(raw.seconds(lengths, train_batches, True))
            started = time.perf_counter()
            fitted = BiLSTMAttentionClassifier(**settings).fit(texts, labels)
            times.setdefault("fit", []).append(time.perf_counter() - started)
            times.setdefault("epoch", []).append(fitted.history_[0]["seconds"])
            plain = BiLSTMAttentionClassifier(**{**settings, "average_decay": None})
            plain_epoch = plain.fit(texts, labels).history_[0]["seconds"]
            times.setdefault("epoch_not_averaged", []).append(plain_epoch)
            if raw_runs[precision]:
                times.setdefault("raw_predict", []).append(
                    raw.seconds(lengths, predict_batches, False)
                )
                times.setdefault("raw_predict_workers", []).append(
                    raw.forward_in_workers(lengths, predict_batches)
                )
            started = time.perf_counter()
            fitted.predict_proba(texts)
            times.setdefault("predict", []).append(time.perf_counter() - started)
    fp32 = seconds.setdefault("fp32", {})
    raw = raws.get("fp32") or RawLSTM(clf.embedding_dim, clf.hidden_size)
    fp32["raw_train_random"] = [raw.seconds(lengths, random_batches, True)]
    # Packed sequences run 50-100x slower: timed on the first tenth of the random batches,
    # scaled to all the tokens by the share of them those batches hold.
    some = random_batches[: max(1, len(random_batches) // 10)]
    share = sum(int(lengths[b].sum()) for b in some) / int(lengths.sum())
    fp32["raw_train_packed"] = [raw.seconds(lengths, some, True, packed=True) / share]
    fp32["raw_predict_given_order"] = [raw.seconds(lengths, given_order, False)]
    tokens = int(lengths.sum())
    return {
        precision: {
            "tokens": tokens,
            "tokens_per_s": {name: tokens / float(np.median(s)) for name, s in times.items()},
            "seconds": times,
        }
        for precision, times in seconds.items()
        if times
    }


ROWS = [
    ("fit", "train", "library `fit`, one epoch from raw strings"),
    ("epoch", "train", "library training epoch (that fit less tokenizer and word vectors)"),
    ("epoch_not_averaged", "train", "library training epoch, weights not averaged"),
    ("raw_train", "train", "raw LSTM forward + backward, same shapes (the limit)"),
    ("raw_train_random", "train", "raw LSTM forward + backward, random batches (naive padding)"),
    ("raw_train_packed", "train", "raw LSTM forward + backward, packed, random batches"),
    ("predict", "predict", "library `predict_proba` from raw strings"),
    ("raw_predict", "predict", "raw LSTM forward, same shapes (the limit)"),
    ("raw_predict_workers", "predict", "raw LSTM forward, same shapes, in one-thread workers"),
    ("raw_predict_given_order", "predict", "raw LSTM forward, 256 texts a batch in given order"),
]


def table(figures: dict) -> str:
    speed = figures["tokens_per_s"]
    lines = ["| path | tokens / s | share of the limit |", "|---|---:|---:|"]
    for key, kind, label in ROWS:
        if key not in speed:
            continue
        limit = speed.get("raw_train" if kind == "train" else "raw_predict")
        share = f"{speed[key] / limit:.1%}" if limit else "-"
        lines.append(f"| {label} | {speed[key]:,.0f} | {share} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="imdb", help="a load_dataset name, or 'reviews'")
    parser.add_argument("--n-docs", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", type=json.loads, default={}, help="estimator parameters")
    parser.add_argument("--precisions", nargs="+", choices=("fp32", "bf16"), default=None)
    parser.add_argument("--data-home", default=DATA)
    parser.add_argument("--no-record", action="store_true", help="print, append no record")
    args = parser.parse_args()
    cpu = torch.device("cpu")
    if args.precisions is None:
        args.precisions = ["fp32", "bf16"] if has_native_bf16(cpu) else ["fp32"]
    torch.set_num_threads(args.threads)
    results = measure(args)
    auto = resolve_precision("auto", cpu)
    for precision, figures in results.items():
        print(
            f"{args.corpus}, {precision}: {args.n_docs} texts, {figures['tokens']:,} pieces, "
            f"{args.threads} threads, median of {args.repeats}; 'auto' picks {auto} here"
        )
        print(table(figures))
        if not args.no_record:
            append(
                "throughput", figures, corpus=args.corpus, n_docs=args.n_docs,
                threads=args.threads, repeats=args.repeats, params=args.params,
                precision=precision, auto_picks=auto,
            )  # fmt: skip
    # Last, as one line of JSON, the float32 figures: what versions.py reads.
    print(json.dumps({**results["fp32"], "machine": f"torch {torch.__version__}"}))


if __name__ == "__main__":
    main()
