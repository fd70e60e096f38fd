"""Turn the result files in ``benchmarks/results/`` into tables of ``benchmarks/RESULTS.md``.

    python benchmarks/report.py          # rewrite every generated table
    python benchmarks/report.py --check  # exit 1 if a table differs from its result file

A generated table sits between ``<!-- begin report: NAME -->`` and
``<!-- end report: NAME -->``, where ``results/NAME.json`` holds its figures; the text
around it is written by hand and left alone. Kinds of result file known so far:
``versions`` (``versions.py``: two versions of the library, ``throughput.py`` side by side)
and ``tokenizer_training`` (``tokenizer_training.py``).
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


RENDERERS = {"versions": versions_table, "tokenizer_training": tokenizer_training_table}


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
