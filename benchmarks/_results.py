"""One benchmark run, appended as a line of ``benchmarks/results/<name>.jsonl``.

    from _results import append  # from a script in benchmarks/

    append("corpora", {"accuracy": 0.92, "fit_seconds": 930.0}, corpus="imdb", model="bilstm_attn")

Each line holds what its figures need to be read and rerun: the commit and whether the
tracked files differed from it (``dirty``; the result files themselves do not count), the
date, the machine (CPU model, cores, the CPU flags that decide which kernels oneDNN runs),
the versions of Python and the libraries, the command line, the labels passed (corpus,
model, precision, ...) and the figures. Lines are only ever appended, so a file's order is
the order of the runs; ``report.py`` reads the files and writes ``RESULTS.md``.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
RESULTS = HERE / "results"
FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)
PACKAGES = {  # the key in a record: the distribution's name
    "torch": "torch",
    "numpy": "numpy",
    "sklearn": "scikit-learn",
    "tokenizers": "tokenizers",
    "bilstm_attn": "bilstm-attn",
}
RESERVED = ("commit", "dirty", "date", "machine", "versions", "command", "figures")


def machine() -> dict:
    """The CPU model, the cores this process may use and which of ``FLAGS`` the CPU has."""
    model, flags = None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model is None:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:  # not Linux: the flags are unknown, not absent
        return {"cpu": platform.processor() or None, "arch": platform.machine(),
                "cores": os.cpu_count(), "flags": None}  # fmt: skip
    return {
        "cpu": model,
        "arch": platform.machine(),
        "cores": len(os.sched_getaffinity(0)),
        "flags": [flag for flag in FLAGS if flag in flags],
    }


def versions() -> dict:
    """Python's version and each of ``PACKAGES``' (None where it is not installed)."""
    found = {"python": platform.python_version()}
    for key, name in PACKAGES.items():
        try:
            found[key] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[key] = None
    return found


def revision() -> dict:
    """``HEAD``'s commit, and whether tracked files other than the results differ from it."""

    def git(*arguments: str) -> str:
        done = subprocess.run(["git", "-C", str(REPOSITORY), *arguments],
                              capture_output=True, text=True)  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  ":(exclude)benchmarks/results", ":(exclude)benchmarks/RESULTS.md")  # fmt: skip
    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(changed)}


# The revision when the benchmark started (this module is imported at its start): the
# code that ran, whatever is committed while it runs.
STARTED = revision()


def command() -> str:
    """This process's command line, the script's path relative to the repository."""
    script = Path(sys.argv[0]).resolve()
    if script.is_relative_to(REPOSITORY):
        script = script.relative_to(REPOSITORY)
    return shlex.join(["python", str(script), *sys.argv[1:]])


def append(name: str, figures: dict, **labels) -> dict:
    """Append one run to ``benchmarks/results/<name>.jsonl`` and return its record.

    Parameters
    ----------
    name : str
        The result file's name without ``.jsonl``, e.g. ``"corpora"`` or ``"throughput"``.
    figures : dict
        What the run measured (JSON-serialisable).
    **labels
        What the run was: corpus, model, precision, params, threads, ... Stored beside the
        figures; none may be one of ``RESERVED``.
    """
    clash = sorted(set(labels) & set(RESERVED))
    if clash:
        raise ValueError(f"labels {clash} of append() are fields of every record; rename them.")
    record = {
        **STARTED,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "command": command(),
        **labels,
        "figures": figures,
    }
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / f"{name}.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return record
