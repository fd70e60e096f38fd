"""How close training and prediction come to the machine's limit: raw nn.LSTM, same shapes.

    python benchmarks/throughput.py [--corpus imdb] [--n-docs 4000] [--threads 2]
                                    [--repeats 3] [--params '{"attention": "additive"}']

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
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn._base import draw_seed, inference_map
from bilstm_attn.datasets import load_dataset, make_reviews
from bilstm_attn.text import bucket_batches, encode

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


class RawLSTM:
    """A bare bidirectional ``nn.LSTM`` timed over batches of given lengths."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        torch.manual_seed(0)
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True, bidirectional=True)
        self.input_size = input_size

    def seconds(self, lengths: np.ndarray, batches, train: bool, packed: bool = False) -> float:
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
                out = self.lstm(x)[0]
                (out.data if packed else out).sum().backward()
            else:
                with torch.inference_mode():
                    self.lstm(x)
            total += time.perf_counter() - started
        return total

    def forward_in_workers(self, lengths: np.ndarray, batches) -> float:
        """Forward passes over the batches in one-thread workers (``inference_map``)."""
        shapes = [(len(b), int(lengths[b].max(initial=1)), self.input_size) for b in batches]
        inputs = torch.randn(max(map(math.prod, shapes), default=0))  # one buffer, views of it

        def run(shape: tuple[int, int, int]) -> None:
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


def measure(args: argparse.Namespace) -> dict:
    texts, labels = corpus_texts(args.corpus, args.n_docs, args.data_home)
    params = {"max_epochs": 1, "validation_fraction": None, "random_state": 0, **args.params}
    clf = BiLSTMAttentionClassifier(**params).fit(texts[:200], labels[:200])  # warm-up
    lengths = np.fromiter(
        map(len, encode(clf.tokenizer_, texts, clf.max_length, clf.truncation)), np.int64
    )
    raw = RawLSTM(clf.embedding_dim, clf.hidden_size)
    rng = np.random.default_rng(draw_seed(0))  # the generator fit draws its batches from
    train_batches = list(bucket_batches(lengths, clf.batch_size, rng))
    order = np.random.default_rng(0).permutation(len(lengths))
    random_batches = [order[i : i + clf.batch_size] for i in range(0, len(order), clf.batch_size)]
    predict_batches = clf._inference_batches(lengths)
    given_order = [np.arange(i, min(i + 256, len(lengths))) for i in range(0, len(lengths), 256)]

    seconds: dict[str, list[float]] = {}

    def wall(run) -> float:
        started = time.perf_counter()
        run()
        return time.perf_counter() - started

    def fit() -> None:
        nonlocal clf
        clf = BiLSTMAttentionClassifier(**params).fit(texts, labels)

    def epoch_not_averaged() -> float:
        plain = BiLSTMAttentionClassifier(**{**params, "average_decay": None})
        return plain.fit(texts, labels).history_[0]["seconds"]

    for _ in range(args.repeats):
        seconds.setdefault("raw_train", []).append(raw.seconds(lengths, train_batches, True))
        seconds.setdefault("fit", []).append(wall(fit))
        seconds.setdefault("epoch", []).append(clf.history_[0]["seconds"])
        seconds.setdefault("epoch_not_averaged", []).append(epoch_not_averaged())
        seconds.setdefault("raw_predict", []).append(raw.seconds(lengths, predict_batches, False))
        seconds.setdefault("raw_predict_workers", []).append(
            raw.forward_in_workers(lengths, predict_batches)
        )
        seconds.setdefault("predict", []).append(wall(lambda: clf.predict_proba(texts)))
    seconds["raw_train_random"] = [raw.seconds(lengths, random_batches, True)]
    # Packed sequences run 50-100x slower: timed on the first tenth of the random batches,
    # scaled to all the tokens by the share of them those batches hold.
    some = random_batches[: max(1, len(random_batches) // 10)]
    share = sum(int(lengths[b].sum()) for b in some) / int(lengths.sum())
    seconds["raw_train_packed"] = [raw.seconds(lengths, some, True, packed=True) / share]
    seconds["raw_predict_given_order"] = [raw.seconds(lengths, given_order, False)]
    tokens = int(lengths.sum())
    return {
        "corpus": args.corpus,
        "n_docs": len(texts),
        "tokens": tokens,
        "threads": torch.get_num_threads(),
        "params": args.params,
        "tokens_per_s": {name: tokens / float(np.median(s)) for name, s in seconds.items()},
        "seconds": seconds,
        "machine": f"{platform.machine()}, torch {torch.__version__}",
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


def table(result: dict) -> str:
    speed = result["tokens_per_s"]
    limits = {"train": speed["raw_train"], "predict": speed["raw_predict"]}
    lines = ["| path | tokens / s | share of the limit |", "|---|---:|---:|"]
    for key, kind, label in ROWS:
        lines.append(f"| {label} | {speed[key]:,.0f} | {speed[key] / limits[kind]:.1%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="imdb", help="a load_dataset name, or 'reviews'")
    parser.add_argument("--n-docs", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", type=json.loads, default={}, help="estimator parameters")
    parser.add_argument("--data-home", default=DATA)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = measure(args)
    print(
        f"{result['corpus']}: {result['n_docs']} texts, {result['tokens']:,} pieces, "
        f"{result['threads']} threads, median of {args.repeats}"
    )
    print(table(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
