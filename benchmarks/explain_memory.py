"""Peak memory of occlusion and faithfulness, before and after they scored in chunks.

    python benchmarks/explain_memory.py [--before b24cffa] [--after HEAD] \
        [--n-docs 1000] [--small 250] [--memory-cap-gb 16] [--n-steps 50] \
        [--calls occlusion integrated_gradients faithfulness] [--merge]

Both commits are checked out into temporary git worktrees, so that edits to this checkout
while it runs do not reach the figures. A default-sized classifier (``max_length=800``,
random embeddings, one epoch on 2,000 IMDB training reviews: memory does not depend on
how well it learned) is fitted once by the ``--after`` tree and saved to
``benchmarks/out/explain_memory/``; both trees load that directory. Each run is a fresh
process with its tree first on ``sys.path`` and 2 torch threads: it loads the model and
the first ``n_docs`` IMDB test reviews, notes its peak resident memory (``ru_maxrss``,
the baseline), runs the call and prints its peak and the seconds the call took. Calls:
``occlusion`` (``clf.explain(texts, method="occlusion")``) and ``faithfulness``
(``faithfulness(clf, texts)``, default methods and fractions), each before at
``--n-docs`` and after at ``--small`` and at ``--n-docs``; and ``integrated_gradients``
(``clf.explain(texts, method="integrated_gradients")``, one of faithfulness's methods),
after at ``--small``. A run whose resident memory passes ``--memory-cap-gb`` is killed
and recorded as such, with the most it was seen holding.

``--n-steps`` are the integration steps of integrated gradients (in faithfulness too:
they cost time, not memory, once its gradients are taken in bounded chunks). The model
is fitted once and kept; ``--merge`` keeps the rows of an earlier output that this run
does not make again, each row naming the commit it ran.

Writes ``benchmarks/results/explain-memory.json``; ``benchmarks/report.py`` turns it
into a table of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
DATA = (REPOSITORY / ".." / "shared" / "data").resolve()
OUT = HERE / "out" / "explain_memory"
RESULTS = HERE / "results"

sys.path.insert(0, str(HERE))
from versions import machine  # noqa: E402  (the machine record report.py renders)

# Runs in a fresh process with TREE first on the import path; prints one JSON line.
FIT = """
import sys
sys.path.insert(0, TREE)
import torch
torch.set_num_threads(2)
import bilstm_attn
from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset
assert bilstm_attn.__file__.startswith(TREE), bilstm_attn.__file__
train = load_dataset("imdb", "train", DATA).sample(2000, random_state=0)
clf = BiLSTMAttentionClassifier(max_epochs=1, pretrained_embeddings=None, random_state=0)
clf.fit(train["text"].tolist(), train["label"].to_numpy()).save(MODEL)
"""
MEASURE = """
import json, resource, sys, time
sys.path.insert(0, TREE)
import torch
torch.set_num_threads(2)
import bilstm_attn
from bilstm_attn.datasets import load_dataset
from bilstm_attn.faithfulness import faithfulness
assert bilstm_attn.__file__.startswith(TREE), bilstm_attn.__file__
clf = bilstm_attn.load(MODEL)
texts = load_dataset("imdb", "test", DATA)["text"].iloc[:N_DOCS].tolist()
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
started = time.perf_counter()
if CALL == "faithfulness":
    faithfulness(clf, texts, n_steps=N_STEPS)
else:
    clf.explain(texts, method=CALL, n_steps=N_STEPS)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"baseline_bytes": baseline, "peak_bytes": peak, "seconds": seconds}))
"""


def _code(template: str, **values) -> str:
    """``template`` with each ``NAME = value`` assignment put in front of it."""
    return "".join(f"{name} = {value!r}\n" for name, value in values.items()) + template


def _resident(pid: int) -> int:
    """Resident memory of process ``pid`` in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_child(code: str, timeout: float, cap_bytes: int, environment: dict | None = None) -> dict:
    """Run ``python -c code``, killing it past ``timeout`` seconds or ``cap_bytes`` resident
    (``environment``: variables set for it on top of this process's).

    Returns the last line it printed, parsed as JSON, with ``"status": "ok"``; or, where
    it was killed or failed, the status, the seconds it ran and the most resident memory
    seen by polling (``peak_bytes``; a lower bound of its true peak).
    """
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(environment or {})},
    )  # fmt: skip
    seen, status = 0, "ok"
    while child.poll() is None:
        seen = max(seen, _resident(child.pid))
        if seen > cap_bytes:
            status = f"killed over the memory cap of {cap_bytes / 1e9:.0f} GB"
        elif time.perf_counter() - started > timeout:
            status = f"killed after the timeout of {timeout:.0f} s"
        if status != "ok":
            child.kill()
            break
        time.sleep(0.2)
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - started
    if status == "ok" and child.returncode != 0:
        status = f"failed with exit status {child.returncode}: {stderr.strip()[-500:]}"
    if status != "ok":
        return {"status": status, "peak_bytes": seen, "seconds": seconds}
    lines = stdout.strip().splitlines()
    return {"status": "ok", **(json.loads(lines[-1]) if lines else {})}


def worktree(commit: str, path: Path) -> str:
    """Check ``commit`` out at ``path``; return its short hash."""
    subprocess.run(
        ["git", "-C", str(REPOSITORY), "worktree", "add", "--detach", str(path), commit],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def plan(n_docs: int, small: int, calls: list[str]) -> list[tuple[str, str, int]]:
    """The (call, version, n_docs) runs of ``calls``, in the order they run.

    Integrated gradients alone, at ``small``, shows how much of faithfulness's peak is
    its integrated gradients.
    """
    sizes = [("before", n_docs), ("after", small), ("after", n_docs)]
    runs = []
    for call in calls:
        if call == "integrated_gradients":  # its before: an earlier output's row (--merge)
            runs.append((call, "after", small))
        else:
            runs += [(call, version, n) for version, n in sizes]
    return runs


def measure(trees: dict[str, Path], args: argparse.Namespace, record: dict, path: Path) -> None:
    """Fit the model with the after tree, then make every run of ``plan``.

    Each run's row is added to ``record["rows"]``, and ``record`` written to ``path``, as
    soon as the run ends.
    """
    model, cap = OUT / "model", args.memory_cap_gb * 1e9
    values = dict(DATA=str(DATA), MODEL=str(model))
    if not (model / "config.json").exists():  # the same model for every run, kept
        fitted = run_child(_code(FIT, TREE=str(trees["after"]), **values), args.timeout, cap)
        if fitted["status"] != "ok":
            raise RuntimeError(f"fitting the model: {fitted['status']}")
    for call, version, n_docs in plan(args.n_docs, args.small, args.calls):
        code = _code(
            MEASURE, TREE=str(trees[version]), **values, N_DOCS=n_docs, CALL=call,
            N_STEPS=args.n_steps,
        )  # fmt: skip
        result = run_child(code, args.timeout, cap)
        key = {"version": version, "call": call, "n_docs": n_docs}
        record["rows"] = [r for r in record["rows"] if {k: r[k] for k in key} != key]
        commit = record["versions"][version]
        record["rows"].append({**key, "commit": commit, "n_steps": args.n_steps, **result})
        path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        print(json.dumps(record["rows"][-1]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="b24cffa", help="a commit of this repository")
    parser.add_argument("--after", default="HEAD", help="a commit of this repository")
    parser.add_argument("--n-docs", type=int, default=1000)
    parser.add_argument("--small", type=int, default=250, help="the after runs' smaller size")
    parser.add_argument("--memory-cap-gb", type=float, default=16.0)
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds per run")
    parser.add_argument("--output", default=str(RESULTS / "explain-memory.json"))
    parser.add_argument(
        "--calls", nargs="+", default=["occlusion", "integrated_gradients", "faithfulness"]
    )
    parser.add_argument("--n-steps", type=int, default=50, help="of integrated gradients")
    parser.add_argument(
        "--merge", action="store_true", help="keep the output's rows of runs not made again"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python benchmarks/explain_memory.py", *sys.argv[1:]])
    record = {"benchmark": "explain_memory", "machine": machine(), "rows": []}
    if args.merge and path.exists():
        record = json.loads(path.read_text(encoding="utf-8"))
        record.setdefault("commands", [record.pop("command")] if "command" in record else [])
    record.setdefault("commands", []).append(command)
    record["versions"] = {}
    with tempfile.TemporaryDirectory() as scratch:
        trees = {side: Path(scratch) / side for side in ("before", "after")}
        try:
            for side, tree in trees.items():
                record["versions"][side] = worktree(getattr(args, side), tree)
            measure(trees, args, record, path)
        finally:
            for tree in trees.values():
                subprocess.run(
                    ["git", "-C", str(REPOSITORY), "worktree", "remove", "--force", str(tree)],
                    capture_output=True,
                )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
