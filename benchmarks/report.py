"""Turn the result files in ``benchmarks/results/`` into tables of ``benchmarks/RESULTS.md``.

    python benchmarks/report.py          # rewrite every generated table
    python benchmarks/report.py --check  # exit 1 if a table differs from its result file

A generated table sits between ``<!-- begin report: NAME -->`` and
``<!-- end report: NAME -->``, where ``results/NAME.json`` holds its figures; the text
around it is written by hand and left alone. Kinds of result file known so far:
``versions`` (``versions.py``: two versions of the library, ``throughput.py`` side by side),
``tokenizer_training`` (``tokenizer_training.py``), ``explain_memory``
(``explain_memory.py``: peak memory of occlusion and faithfulness in two versions) and
``ig_threads`` (``ig_threads.py``: integrated gradients from several threads, two ways).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PAGE = HERE / "RESULTS.md"
BLOCK = re.compile(
    r"(<!-- begin report: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- end report: (?P=name) -->)",
    re.DOTALL,
)

sys.path.insert(0, str(HERE))
from throughput import ROWS  # noqa: E402  (the row labels of throughput.py)


def _limits(run: dict) -> dict[str, float]:
    speed = run["tokens_per_s"]
    return {"train": speed["raw_train"], "predict": speed["raw_predict"]}


def versions_table(result: dict) -> str:
    """Tokens per second of each version (median of the rounds), their ratio, and the
    share of the raw-LSTM limit each reached within its own runs."""
    before, after = result["versions"]["before"], result["versions"]["after"]
    rounds = len(result["runs"]["before"])
    lines = [
        f"`{result['command']}`: {rounds} rounds, the two versions alternating; "
        f"{_machine_line(result['machine'])}.",
        "",
        f"| path | {before} tokens/s | {after} tokens/s | after / before (per round) "
        f"| share of the limit, {before} | {after} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, kind, label in ROWS:
        row = result["rows"][key]
        per_round = ", ".join(f"{r:.2f}" for r in row["ratio_per_round"])
        shares = [
            float(np.median([r["tokens_per_s"][key] / _limits(r)[kind] for r in runs]))
            for runs in (result["runs"]["before"], result["runs"]["after"])
        ]
        lines.append(
            f"| {label} | {row['before']:,.0f} | {row['after']:,.0f} "
            f"| {row['ratio']:.3f} ({per_round}) | {shares[0]:.1%} | {shares[1]:.1%} |"
        )
    return "\n".join(lines) + "\n"


def _machine_line(machine: dict) -> str:
    flags = ", ".join(machine["flags"]) or "none of AVX-512 or AMX"
    return f"{machine['cpu']}, {machine['cores']} cores, flags {flags}; torch {machine['torch']}"


def tokenizer_training_table(result: dict) -> str:
    """Seconds to train each kind's vocabulary: the library's learner against HF's."""
    lines = [
        f"`{result['command']}` (vocab_size={result['options']['vocab_size']:,}, "
        f"min_frequency={result['options']['min_frequency']}); "
        f"{_machine_line(result['machine'])}.",
        "",
        "| corpus | kind | HF trainer | the library's learner | ratio "
        "| HF's pieces also in the library's |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['corpus']} ({row['texts']:,} texts) | {row['kind']} "
            f"| {row['hf_seconds']:.1f} s | {row['ours_seconds']:.1f} s "
            f"| {row['ours_seconds'] / row['hf_seconds']:.1f}x | {row['overlap']:.2%} |"
        )
    return "\n".join(lines) + "\n"


EXPLAIN_CALLS = {
    "occlusion": "occlusion",
    "faithfulness": "faithfulness (default methods)",
    "integrated_gradients": "integrated gradients alone",
}


def _peak(row: dict | None) -> str:
    """A run's peak in GB and its commit, or what stopped it, or a dash where it was not
    run."""
    if row is None:
        return "-"
    if row["status"] != "ok":
        return f"{row['status']} (seen at {row['peak_bytes'] / 1e9:.2f})"
    return f"{row['peak_bytes'] / 1e9:.2f} (`{row['commit']}`)"


def _seconds(row: dict | None) -> str:
    return "-" if row is None else f"{row['seconds']:,.0f}"


def explain_memory_table(result: dict) -> str:
    """Peak resident memory (GB, 10^9 bytes) of each call before and after, per size, with
    the commit and integration steps of each run."""
    runs = {(r["call"], r["version"], r["n_docs"]): r for r in result["rows"]}
    baselines = [r["baseline_bytes"] / 1e9 for r in result["rows"] if r["status"] == "ok"]
    commands = "; ".join(f"`{c}`" for c in result["commands"])
    lines = [
        f"{commands}. Each run a fresh process, its peak resident memory (`ru_maxrss`) in GB "
        f"of 10^9 bytes, of which {min(baselines):.2f} to {max(baselines):.2f} GB were held "
        f"before the call (torch, the model and the reviews loaded); seconds on a machine "
        f"shared with other work; {_machine_line(result['machine'])}.",
        "",
        "| call | documents | IG steps | before: peak, GB (commit) | after: peak, GB (commit) "
        "| after / before | before: s | after: s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cells = sorted({(r["call"], r["n_docs"]) for r in result["rows"]},
                   key=lambda c: (list(EXPLAIN_CALLS).index(c[0]), -c[1]))  # fmt: skip
    for call, n_docs in cells:
        before, after = runs.get((call, "before", n_docs)), runs.get((call, "after", n_docs))
        both = before and after and before["status"] == after["status"] == "ok"
        ratio = f"{after['peak_bytes'] / before['peak_bytes']:.2f}" if both else "-"
        steps = (after or before)["n_steps"] if call != "occlusion" else "-"
        lines.append(
            f"| {EXPLAIN_CALLS[call]} | {n_docs:,} | {steps} | {_peak(before)} "
            f"| {_peak(after)} | {ratio} | {_seconds(before)} | {_seconds(after)} |"
        )
    return "\n".join(lines) + "\n"


def ig_threads_table(result: dict) -> str:
    """Reviews per second of integrated gradients from several threads: the embeddings as
    input (no hook, no lock) against a hook on a shared layer behind a lock."""
    ways = list(result["rows"][0]["reviews_per_s"])
    lines = [
        f"`{result['command']}`: {result['n_docs']} IMDB test reviews per caller, "
        f"{result['threads']} torch threads, the ways alternating, the median of the rounds; "
        f"the two ways' word weights differ by at most {result['max_weight_difference']:.1e}; "
        f"{_machine_line(result['machine'])}.",
        "",
        "| calling threads | " + " | ".join(f"{w}, reviews/s" for w in ways) + " | ratio |",
        "|---:|" + "---:|" * (len(ways) + 1),
    ]
    for row in result["rows"]:
        speeds = [row["reviews_per_s"][w] for w in ways]
        lines.append(
            f"| {row['callers']} | " + " | ".join(f"{v:.2f}" for v in speeds)
            + f" | {speeds[0] / speeds[1]:.2f} |"
        )  # fmt: skip
    return "\n".join(lines) + "\n"


RENDERERS = {
    "ig_threads": ig_threads_table,
    "versions": versions_table,
    "tokenizer_training": tokenizer_training_table,
    "explain_memory": explain_memory_table,
}


def render(name: str) -> str:
    result = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
    return RENDERERS[result["benchmark"]](result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args()
    page = PAGE.read_text(encoding="utf-8")
    names = [match["name"] for match in BLOCK.finditer(page)]
    missing = [name for name in names if not (RESULTS / f"{name}.json").exists()]
    if missing:
        print(f"no result file for {', '.join(missing)} in {RESULTS}", file=sys.stderr)
        return 1
    updated = BLOCK.sub(lambda m: m.group(1) + render(m["name"]) + m.group(4), page)
    if args.check:
        stale = updated != page
        print("RESULTS.md differs from its result files" if stale else "RESULTS.md is current")
        return int(stale)
    PAGE.write_text(updated, encoding="utf-8")
    print(f"rewrote {len(BLOCK.findall(page))} table(s) of {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
