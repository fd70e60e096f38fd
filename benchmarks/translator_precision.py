"""The translator on the book's date task in float32 and in bf16, side by side.

    python benchmarks/translator_precision.py [--data-home ../shared/data]

On *Deep Learning from Scratch 2*'s split of ``date.txt`` (45,000 / 5,000), two settings,
each fitted with ``precision="fp32"`` and ``precision="bf16"`` one after the other in this
process: the defaults with ``max_epochs=1`` on all 45,000 dates (scored on the 5,000
held out), and the small model of ``tests/test_real_data.py``'s quick sample
(``hidden_size=32, embedding_dim=16, max_epochs=3, learning_rate=5e-3`` on the first
5,000 dates, scored on the first 2,000 held out; seeds 0 and 1). Per fit: exact match, fit
seconds and the seconds to score. It is what ``precision="auto"`` of the translator rests
on. The record goes to ``benchmarks/results/translator-precision.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bilstm_attn import Seq2SeqTranslator
from bilstm_attn.datasets import load_dataset

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import append  # noqa: E402

DATA = HERE.parent / ".." / "shared" / "data"
SMALL = dict(hidden_size=32, embedding_dim=16, max_epochs=3, learning_rate=5e-3)


def one(settings: dict, x_train, y_train, x_test, y_test) -> dict:
    started = time.perf_counter()
    translator = Seq2SeqTranslator(metric="exact", **settings).fit(x_train, y_train)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    exact = translator.score(x_test, y_test)
    return {"exact": exact, "fit_seconds": fit, "score_seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=str(DATA))
    args = parser.parse_args()
    train, test = (load_dataset("dlfs2_date", s, args.data_home) for s in ("train", "test"))
    x_train, y_train = list(train["source"]), list(train["target"])
    x_test, y_test = list(test["source"]), list(test["target"])
    runs = [("defaults, 1 epoch", {"max_epochs": 1, "random_state": 0}, None, None)]
    runs += [(f"small, seed {s}", {**SMALL, "random_state": s}, 5000, 2000) for s in (0, 1)]
    figures: dict[str, dict] = {}
    for label, settings, n_train, n_test in runs:
        for precision in ("fp32", "bf16"):
            found = one(
                {**settings, "precision": precision},
                x_train[:n_train], y_train[:n_train], x_test[:n_test], y_test[:n_test],
            )  # fmt: skip
            figures.setdefault(label, {})[precision] = found
            print(label, precision, found, flush=True)
    append("translator-precision", figures)


if __name__ == "__main__":
    main()
