"""Two versions of the library side by side: ``throughput.py`` of each, in one run.

    python benchmarks/versions.py --before 26f962e [--after .] [--rounds 4] \
        [--label lifecycle] -- --threads 2 --n-docs 3000 --repeats 1

The ``--before`` commit is checked out into a temporary git worktree; ``--after`` is a
source tree (default: this checkout, as it is on disk). The two trees' own
``benchmarks/throughput.py`` run alternately (before, after, before, after, ...), each in a
fresh process with its tree first on ``sys.path``, so that a slow spell of the machine hits
both sides. The arguments after ``--`` go to every ``throughput.py`` run.

Writes ``benchmarks/results/versions-<label>.json``: the machine (CPU model and flags,
cores, torch), both versions, every run's tokens per second, and per row the median of
each side and their ratio (after / before). ``benchmarks/report.py`` turns it into a table
of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
RESULTS = HERE / "results"


def machine() -> dict:
    """What the figures were measured on."""
    model, flags = "", []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].split()
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8")
    return {
        "cpu": model or platform.processor(),
        "flags": [flag for flag in wanted if flag in flags],
        "cores": len(__import__("os").sched_getaffinity(0)),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def revision(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return done.stdout.strip() + ("+uncommitted" if dirty else "")


def throughput(tree: Path, arguments: list[str]) -> dict:
    """One run of ``tree``'s throughput.py with ``tree`` first on the import path."""
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); "
        f"sys.argv = ['throughput.py', *{arguments!r}]; "
        f"import runpy; runpy.run_path({str(tree / 'benchmarks' / 'throughput.py')!r}, "
        f"run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"throughput.py of {tree} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    imported = result.get("machine", "")
    return {"tokens_per_s": result["tokens_per_s"], "tokens": result["tokens"], "info": imported}


def compare(before: Path, after: Path, rounds: int, arguments: list[str]) -> dict:
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for round_number in range(rounds):
        for side, tree in (("before", before), ("after", after)):
            runs[side].append(throughput(tree, arguments))
            speed = runs[side][-1]["tokens_per_s"]
            print(
                f"round {round_number + 1} {side}: fit {speed['fit']:,.0f}, epoch "
                f"{speed['epoch']:,.0f}, predict {speed['predict']:,.0f} tokens/s",
                flush=True,
            )
    rows = {}
    for name in runs["before"][0]["tokens_per_s"]:
        b = float(np.median([r["tokens_per_s"][name] for r in runs["before"]]))
        a = float(np.median([r["tokens_per_s"][name] for r in runs["after"]]))
        ratios = [
            ra["tokens_per_s"][name] / rb["tokens_per_s"][name]
            for rb, ra in zip(runs["before"], runs["after"], strict=True)
        ]
        rows[name] = {
            "before": b,
            "after": a,
            "ratio": a / b,
            "ratio_per_round": ratios,
        }
    return {"runs": runs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="a commit of this repository")
    parser.add_argument("--after", default=str(REPOSITORY), help="a source tree (default: .)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--label", default="latest", help="names the result file")
    parser.add_argument("throughput_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    arguments = [a for a in args.throughput_args if a != "--"]
    if "--data-home" not in arguments:  # both trees read the corpora beside this checkout
        arguments += ["--data-home", str((REPOSITORY / ".." / "shared" / "data").resolve())]
    after = Path(args.after).resolve()
    with tempfile.TemporaryDirectory() as scratch:
        before = Path(scratch) / "before"
        subprocess.run(
            ["git", "-C", str(REPOSITORY), "worktree", "add", "--detach", str(before), args.before],
            check=True,
            capture_output=True,
        )
        try:
            result = compare(before, after, args.rounds, arguments)
            versions = {"before": revision(before), "after": revision(after)}
        finally:
            subprocess.run(
                ["git", "-C", str(REPOSITORY), "worktree", "remove", "--force", str(before)],
                capture_output=True,
            )
    record = {
        "benchmark": "versions",
        "command": "python benchmarks/versions.py "
        + " ".join(
            [f"--before {args.before}", f"--rounds {args.rounds}", "--", *arguments]
        ).replace(str((REPOSITORY / ".." / "shared" / "data").resolve()), "../shared/data"),
        "machine": machine(),
        "versions": versions,
        **result,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"versions-{args.label}.json"
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    for name, row in result["rows"].items():
        print(f"{name:28s} {row['before']:>11,.0f} {row['after']:>11,.0f}  x{row['ratio']:.3f}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
