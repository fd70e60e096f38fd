"""How close training and prediction come to the machine's limit: raw nn.LSTM, same shapes.

    python benchmarks/throughput.py [--corpus imdb] [--n-docs 4000] [--threads 2]

Side by side in one run, on the same texts:

- ``library fit``: ``BiLSTMAttentionClassifier`` with default parameters, one epoch, no
  validation split, timed from raw strings (tokenizer training, encoding, batching,
  embedding, exact BiLSTM, attention pooling, loss, backward, clipping, AdamW);
- ``raw LSTM fwd+bwd``: ``nn.LSTM(128, 128, bidirectional=True)`` forward and backward
  over random embeddings with exactly the shapes the library's batches have (batch 64,
  each batch padded to its longest text), no embedding, attention or optimizer: the limit;
- ``library predict``: ``predict_proba`` from raw strings;
- ``raw LSTM forward``: the same LSTM under ``inference_mode`` on the shapes of the
  prediction batches (256 texts sorted by length).

Tokens per second count real pieces (not padding) for both, so the ratio is the share
of the limit the library reaches. Naive baselines beside them: the same raw LSTM on
batches in random order padded to their longest text, and packed sequences.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset, make_reviews
from bilstm_attn.text import bucket_batches, encode

DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def raw_lstm_seconds(lengths: np.ndarray, batches, train: bool, packed: bool = False) -> float:
    """Seconds for a raw BiLSTM over batches of the given index sets (padded to longest)."""
    torch.manual_seed(0)
    lstm = nn.LSTM(128, 128, batch_first=True, bidirectional=True)
    optimizer = torch.optim.SGD(lstm.parameters(), lr=1e-3)
    seconds = 0.0
    for index in batches:
        size, longest = len(index), int(lengths[index].max())
        x = torch.randn(size, longest, 128)  # (B, S, E)
        started = time.perf_counter()
        if packed:
            x = pack_padded_sequence(
                x, torch.from_numpy(lengths[index]), batch_first=True, enforce_sorted=False
            )
        if train:
            optimizer.zero_grad()
            out = lstm(x)[0]
            (out.data if packed else out).sum().backward()
        else:
            with torch.inference_mode():
                lstm(x)
        seconds += time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="imdb", help="a load_dataset name, or 'reviews'")
    parser.add_argument("--n-docs", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--data-home", default=DATA)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.corpus == "reviews":
        frame = make_reviews(args.n_docs, random_state=0)
    else:
        frame = load_dataset(args.corpus, "train", args.data_home).sample(
            args.n_docs, random_state=0
        )
    texts, labels = list(frame["text"]), frame["label"]

    clf = BiLSTMAttentionClassifier(max_epochs=1, validation_fraction=None, random_state=0)
    started = time.perf_counter()
    clf.fit(texts, labels)
    fit_seconds = time.perf_counter() - started
    lengths = np.fromiter(map(len, encode(clf.tokenizer_, texts, clf.max_length)), np.int64)
    tokens = int(lengths.sum())
    started = time.perf_counter()
    clf.predict_proba(texts)
    predict_seconds = time.perf_counter() - started

    rng = np.random.default_rng(0)
    train_batches = list(bucket_batches(lengths, clf.batch_size, rng))
    predict_batches = list(bucket_batches(lengths, clf.batch_size * 4))
    random_batches = [rng.permutation(len(lengths))[i : i + 64] for i in range(0, len(lengths), 64)]
    raw_lstm_seconds(lengths, train_batches[:2], True)  # warm-up
    rows = {
        "library fit (1 epoch, from raw text)": tokens / fit_seconds,
        "raw LSTM fwd+bwd, same shapes": tokens / raw_lstm_seconds(lengths, train_batches, True),
        "raw LSTM fwd+bwd, random batches": tokens
        / raw_lstm_seconds(lengths, random_batches, True),
        "raw LSTM fwd+bwd, packed, random batches": tokens
        / raw_lstm_seconds(lengths, random_batches, True, packed=True),
        "library predict_proba (from raw text)": tokens / predict_seconds,
        "raw LSTM forward, same shapes": tokens / raw_lstm_seconds(lengths, predict_batches, False),
    }
    limit_train = rows["raw LSTM fwd+bwd, same shapes"]
    limit_predict = rows["raw LSTM forward, same shapes"]
    print(f"{args.corpus}: {len(texts)} texts, {tokens} pieces, {args.threads} threads")
    for name, value in rows.items():
        limit = limit_predict if "predict" in name or "forward," in name else limit_train
        print(f"{name:<44} {value:>10,.0f} tokens/s   {value / limit:6.1%} of the limit")
    print(json.dumps({k: round(v) for k, v in rows.items()}))


if __name__ == "__main__":
    main()
