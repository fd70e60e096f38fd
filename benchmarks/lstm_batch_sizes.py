"""A bare ``nn.LSTM``'s forward (and forward + backward) tokens/s against its batch size.

    python benchmarks/lstm_batch_sizes.py [--length 100] [--repeats 4]
                                          [--sizes 56 59 60 61 62 63 64 67 71 72]

One thread, ``nn.LSTM(128, 128, bidirectional=True, batch_first=True)`` (the library's
default sizes) over random inputs of ``--length`` steps, in float32 and under a bf16
``torch.autocast`` where oneDNN has a bf16 LSTM for the CPU; each figure is the mean of
``--repeats`` calls after one warm-up call. It shows why prediction batches are cut to
multiples of 8 (``bilstm_attn.text.sorted_batches``): on some CPUs oneDNN's bf16 kernels
slow down on batch sizes with no small factor. The record goes to
``benchmarks/results/lstm-batch-sizes.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

from bilstm_attn.nn import bf16_lstm_on_cpu

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import append

SIZES = (8, 16, 24, 32, 48, 56, 59, 60, 61, 62, 63, 64, 67, 71, 72, 96, 127, 128)


def tokens_per_s(lstm: nn.LSTM, batch: int, length: int, bf16: bool, train: bool, repeats: int):
    x = torch.randn(batch, length, lstm.input_size)

    def once() -> None:
        if train:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = lstm(x)[0]
            out.float().sum().backward()
        else:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                lstm(x)

    once()
    started = time.perf_counter()
    for _ in range(repeats):
        once()
    return batch * length * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    lstm = nn.LSTM(128, 128, batch_first=True, bidirectional=True)
    figures: dict[str, dict[str, float]] = {}
    modes = [("fp32", False)] + ([("bf16", True)] if bf16_lstm_on_cpu() else [])
    for label, bf16 in modes:
        for train in (False, True):
            key = f"{label} {'forward + backward' if train else 'forward'}"
            figures[key] = {
                str(b): tokens_per_s(lstm, b, args.length, bf16, train, args.repeats)
                for b in args.sizes
            }
            print(key, {b: f"{v:,.0f}" for b, v in figures[key].items()}, flush=True)
    append("lstm-batch-sizes", figures, length=args.length, repeats=args.repeats, threads=1)


if __name__ == "__main__":
    main()
