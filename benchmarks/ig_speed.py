"""Integrated gradients per IMDB review, two commits of the library side by side.

    python benchmarks/ig_speed.py --before 71ed8ad [--after HEAD] [--n-docs 60]
                                  [--threads 2] [--rounds 3] [--n-steps 50]

Both commits are checked out into temporary git worktrees; each round runs each of them
in a fresh process (the order alternating from round to round), which loads the same
saved model (``--model``, a directory of ``save()``; by default one fitted here on 2,000
IMDB training reviews with the default parameters and ``max_epochs=2``, kept in
``benchmarks/out/ig_speed``), explains the first ``--n-docs`` of a seeded shuffle of
IMDB's test reviews with ``method="integrated_gradients"`` (after a warm-up on three) and
reports the seconds per review and the largest completeness error ``|delta|``.
The record goes to ``benchmarks/results/ig-speed.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import append  # noqa: E402
from explain_memory import REPOSITORY, run_child, worktree  # noqa: E402

DATA = (HERE.parent / ".." / "shared" / "data").resolve()
OUT = HERE / "out" / "ig_speed"

CHILD = """
import sys, time, json
sys.path.insert(0, TREE)
import numpy as np, torch
torch.set_num_threads(THREADS)
from bilstm_attn import load
from bilstm_attn.datasets import load_dataset
clf = load(MODEL)
frame = load_dataset("imdb", "test", DATA).sample(frac=1.0, random_state=0)
texts = list(frame["text"].iloc[:N_DOCS])
clf.explain(list(frame["text"].iloc[-3:]), "integrated_gradients", n_steps=N_STEPS)
started = time.perf_counter()
found = clf.explain(texts, "integrated_gradients", n_steps=N_STEPS)
seconds = time.perf_counter() - started
pieces = sum(len(e.ids) for e in clf.encode(texts))
print(json.dumps({"seconds_per_review": seconds / len(texts), "pieces": pieces,
                  "max_abs_delta": max(abs(e.delta) for e in found)}))
"""

FIT = """
import sys
sys.path.insert(0, TREE)
from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset
frame = load_dataset("imdb", "train", DATA).sample(2000, random_state=0)
clf = BiLSTMAttentionClassifier(max_epochs=2, random_state=0, precision="fp32")
clf.fit(list(frame["text"]), frame["label"].to_numpy()).save(MODEL)
"""


def _code(template: str, **values) -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in values.items()) + template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--n-docs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n-steps", type=int, default=50)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ig-speed-"))
    trees = {side: scratch / side for side in ("before", "after")}
    commits = {}
    try:
        for side, tree in trees.items():
            commits[side] = worktree(getattr(args, side), tree)
        model = args.model or OUT / "model"
        if not (model / "config.json").exists():
            done = run_child(_code(FIT, TREE=str(trees["after"]), DATA=str(DATA),
                                   MODEL=str(model)), 3600, 16e9)  # fmt: skip
            if done["status"] != "ok":
                raise RuntimeError(f"fitting the model: {done['status']}")
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for number in range(args.rounds):
            for side in ("before", "after") if number % 2 == 0 else ("after", "before"):
                code = _code(CHILD, TREE=str(trees[side]), THREADS=args.threads,
                             MODEL=str(model), DATA=str(DATA), N_DOCS=args.n_docs,
                             N_STEPS=args.n_steps)  # fmt: skip
                done = run_child(code, 3600, 16e9)
                if done["status"] != "ok":
                    raise RuntimeError(f"{side}: {done['status']}")
                runs[side].append(done)
                print(side, json.dumps(done), flush=True)
    finally:
        for tree in trees.values():
            subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "remove", "--force",
                            str(tree)], capture_output=True)  # fmt: skip
        shutil.rmtree(scratch, ignore_errors=True)
    figures = {
        side: {
            "seconds_per_review": float(np.median([r["seconds_per_review"] for r in found])),
            "per_round": [r["seconds_per_review"] for r in found],
            "max_abs_delta": max(r["max_abs_delta"] for r in found),
            "pieces": found[0]["pieces"],
        }
        for side, found in runs.items()
    }
    figures["before_over_after"] = (
        figures["before"]["seconds_per_review"] / figures["after"]["seconds_per_review"]
    )
    print(json.dumps(figures, indent=1))
    append(
        "ig-speed", figures, corpus="imdb", n_docs=args.n_docs, threads=args.threads,
        n_steps=args.n_steps, rounds=args.rounds, compared=commits,
    )  # fmt: skip


if __name__ == "__main__":
    main()
