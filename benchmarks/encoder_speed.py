"""Training and inference throughput of the exact padded encoder against the baselines.

Side by side in one run, on the same batches of mixed lengths (length-bucketed, as the
classifier trains):

- ``packed``: ``nn.LSTM(bidirectional=True)`` over ``pack_padded_sequence`` (exact; the
  usual way);
- ``exact padded``: this library's ``RNNEncoder`` (two one-way LSTMs, the backward one on
  each sequence reversed within its length; exact);
- ``plain padded``: ``nn.LSTM(bidirectional=True)`` on the padded batch (fast but *not*
  exact: the backward direction reads the padding first).

    python benchmarks/encoder_speed.py --threads 2

prints tokens per second for each and the ratio to ``packed``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from bilstm_attn.nn import RNNEncoder, make_embedding
from bilstm_attn.text import bucket_batches, pad_batch


class PackedEncoder(nn.Module):
    def __init__(self, embedding: nn.Embedding, hidden: int, packed: bool) -> None:
        super().__init__()
        self.embedding, self.packed = embedding, packed
        self.rnn = nn.LSTM(embedding.embedding_dim, hidden, batch_first=True, bidirectional=True)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids)  # (B, S, E)
        if not self.packed:
            return self.rnn(x)[0]  # (B, S, 2H)
        lengths = lengths.clamp(min=1)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        return nn.utils.rnn.pad_packed_sequence(out, batch_first=True)[0]  # (B, S', 2H)


def states(module: nn.Module, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    out = module(ids, lengths)
    return out.states if hasattr(out, "states") else out


def throughput(module, batches, train: bool, repeats: int) -> float:
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
    tokens, seconds = 0, 0.0
    for _ in range(repeats):
        for ids, lengths in batches:
            started = time.perf_counter()
            if train:
                module.train()
                optimizer.zero_grad()
                states(module, ids, lengths).sum().backward()
                optimizer.step()
            else:
                module.eval()
                with torch.inference_mode():
                    states(module, ids, lengths)
            seconds += time.perf_counter() - started
            tokens += int(lengths.sum())
    return tokens / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # IMDB-like lengths: log-normal around 250 pieces, cut at 400
    lengths = np.clip(rng.lognormal(5.4, 0.6, size=64 * 50), 10, 400).astype(int)
    index = list(bucket_batches(lengths, 64, rng))[: args.batches]
    batches = [pad_batch([rng.integers(2, 30000, n) for n in lengths[b]], 0) for b in index]
    mixed = [
        pad_batch([rng.integers(2, 30000, n) for n in rng.choice(lengths, 64)], 0)
        for _ in range(args.batches)
    ]
    results = {}
    for batch_kind, data in (("bucketed", batches), ("random", mixed)):
        for name, build in (
            ("packed", lambda e: PackedEncoder(e, 128, packed=True)),
            ("exact padded", lambda e: RNNEncoder(e, 128)),
            ("plain padded (inexact)", lambda e: PackedEncoder(e, 128, packed=False)),
        ):
            module = build(make_embedding(30000, 128, 0))
            for train in (True, False):
                key = f"{batch_kind} / {name} / {'train' if train else 'inference'}"
                throughput(module, data[:1], train, 1)  # warm-up
                results[key] = throughput(module, data, train, args.repeats)
    for key, value in results.items():
        batch_kind, name, mode = key.split(" / ")
        base = results[f"{batch_kind} / packed / {mode}"]
        print(f"{key:<52} {value:>9,.0f} tokens/s   x{value / base:.2f} vs packed")
    if args.json:
        print(json.dumps({"threads": args.threads, **results}))


if __name__ == "__main__":
    main()
