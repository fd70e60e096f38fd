"""Training schedules scored on validation data carved from the training split only.

    python benchmarks/schedule_selection.py [--corpora imdb sst2 trec] [--threads 2]
                                            [--candidates today wl2e-3x3 ...]

For each corpus, each candidate fits ``BiLSTMAttentionClassifier(random_state=0)`` with
its settings on the corpus's *training* split; its own validation split
(``validation_fraction=0.1``, stratified, carved from those training texts) is the only
data it is scored on: no test set is read. Each run is a fresh process. Recorded per
epoch: validation accuracy and seconds; per run: the fit's seconds and the best
validation accuracy. For the ``today`` candidate (the defaults: a constant rate of 1e-3,
early stopping with patience 3, up to 30 epochs) the script also works out, from the
same run's history, where patience 1 and 2 would have stopped (training is the same
until then, and the best weights so far are restored), so those cost no run of their own.

Candidates (``name``: parameters on top of the defaults):

- ``today``: none.
- ``wl<rate>x<epochs>``: ``lr_schedule="warmup_linear"``, ``learning_rate=<rate>``,
  ``max_epochs=<epochs>`` (the schedule ends with the budget; early stopping stays on).

Each run is appended to ``benchmarks/results/schedule-selection.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import append  # noqa: E402
from explain_memory import run_child  # noqa: E402

DATA = (HERE.parent / ".." / "shared" / "data").resolve()
CANDIDATE = re.compile(r"wl(?P<rate>[0-9.e-]+)x(?P<epochs>\d+)")

CHILD = """
import json, time
import torch
torch.set_num_threads(THREADS)
from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset
train = load_dataset(CORPUS, "train", DATA)
clf = BiLSTMAttentionClassifier(random_state=0, **PARAMS)
started = time.perf_counter()
clf.fit(train["text"], train["label"])
seconds = time.perf_counter() - started
print(json.dumps({"fit_seconds": seconds, "best_epoch": clf.best_epoch_,
                  "precision": clf.history_[-1]["precision"],
                  "history": [{k: v for k, v in r.items() if k != "precision"}
                              for r in clf.history_]}))
"""


def params_of(candidate: str) -> dict:
    if candidate == "today":
        return {}
    found = CANDIDATE.fullmatch(candidate)
    if found is None:
        raise SystemExit(f"unknown candidate {candidate!r}: 'today' or wl<rate>x<epochs>")
    return {"lr_schedule": "warmup_linear", "learning_rate": float(found["rate"]),
            "max_epochs": int(found["epochs"])}  # fmt: skip


def with_patience(history: list[dict], patience: int) -> dict:
    """Where early stopping on validation accuracy with ``patience`` would have stopped
    this run, and the best accuracy it would have kept (the loop's rule: an improvement
    is a drop of the error by more than 1e-4)."""
    best, best_epoch, bad, seconds = float("inf"), 0, 0, 0.0
    for record in history:
        seconds += record["seconds"]
        error = 1.0 - record["valid_accuracy"]
        if error < best - 1e-4 or best_epoch == 0:
            best, best_epoch, bad = min(best, error), record["epoch"], 0
        else:
            bad += 1
        if bad >= patience:
            break
    return {"epochs": record["epoch"], "best_epoch": best_epoch,
            "valid_accuracy": 1.0 - best, "epoch_seconds": seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", default=["imdb", "sst2", "trec"])
    parser.add_argument("--candidates", nargs="+", default=["today", "wl2e-3x3", "wl3e-3x3"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for corpus in args.corpora:
        for candidate in args.candidates:
            params = params_of(candidate)
            code = "".join(
                f"{k} = {v!r}\n"
                for k, v in dict(
                    THREADS=args.threads, CORPUS=corpus, DATA=str(DATA), PARAMS=params
                ).items()
            )
            done = run_child(code + CHILD, 4 * 3600, 20e9)
            if done["status"] != "ok":
                print(corpus, candidate, done["status"], flush=True)
                continue
            history = done["history"]
            figures = {
                "fit_seconds": done["fit_seconds"],
                "epochs": len(history),
                "best_epoch": done["best_epoch"],
                "best_valid_accuracy": max(r["valid_accuracy"] for r in history),
                "history": history,
            }
            if candidate == "today":
                figures["with_patience"] = {p: with_patience(history, p) for p in (1, 2)}
            print(corpus, candidate, json.dumps({k: v for k, v in figures.items()
                                                 if k != "history"}), flush=True)  # fmt: skip
            append("schedule-selection", figures, corpus=corpus, candidate=candidate,
                   params=params, threads=args.threads, precision=done["precision"])  # fmt: skip


if __name__ == "__main__":
    main()
