"""Markdown pieces of ``report.py``: tables, bold, the machine line, and the tables of the
``.json`` result files that ``NOTES.md`` holds.

A ``.json`` result file (``versions.py``, ``tokenizer_training.py``, ``explain_memory.py``,
``ig_threads.py``) holds one whole comparison; its ``"benchmark"`` names its renderer in
``JSON_RENDERERS``. The JSON Lines files (one record per run, ``_results.py``) are read by
``report.py`` itself.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

import numpy as np

# The paths throughput.py times, in its order: key -> (kind, label). A path of kind
# "train" is a share of "raw_train", one of kind "predict" a share of "raw_predict".
PATHS = {
    "fit": ("train", "library `fit`, one epoch from raw strings"),
    "epoch": ("train", "library training epoch (that fit less tokenizer and word vectors)"),
    "epoch_not_averaged": ("train", "library training epoch, weights not averaged"),
    "raw_train": ("train", "raw LSTM forward + backward, same shapes (the limit)"),
    "raw_train_random": ("train", "raw LSTM forward + backward, random batches (naive padding)"),
    "raw_train_packed": ("train", "raw LSTM forward + backward, packed, random batches"),
    "predict": ("predict", "library `predict_proba` from raw strings"),
    "raw_predict": ("predict", "raw LSTM forward, same shapes (the limit)"),
    "raw_predict_workers": ("predict", "raw LSTM forward, same shapes, in one-thread workers"),
    "raw_predict_given_order": ("predict", "raw LSTM forward, 256 texts a batch in given order"),
}
LIMITS = {"train": "raw_train", "predict": "raw_predict"}


def table(header: Sequence[str], align: str, rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table; ``align`` holds one letter a column: ``l`` left, ``r`` right."""
    rule = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    return ["| " + " | ".join(header) + " |", rule, *("| " + " | ".join(r) + " |" for r in rows)]


def bold_best(cells: Sequence[str], values: Sequence[float | None], higher: bool) -> list[str]:
    """``cells`` with the best of ``values`` in bold: the highest, or the lowest, of those
    given; ties are all bold, and a single value is not compared with anything."""
    given = [v for v in values if v is not None]
    if len(given) < 2:
        return list(cells)
    best = max(given) if higher else min(given)
    return [f"**{c}**" if v == best else c for c, v in zip(cells, values)]


def number(value: float | None, digits: int = 0, unit: str = "") -> str:
    """``value`` with thousands separators and ``digits`` decimals, or a dash."""
    return "-" if value is None else f"{value:,.{digits}f}{unit}"


def seconds(value: float | None) -> str:
    """Seconds as recorded: an int as it is, a float to tenths below 100 s, whole above."""
    if value is None:
        return "-"
    return number(value, 0 if isinstance(value, int) or value >= 100 else 1, " s")


def wrap(text: str) -> list[str]:
    """A paragraph as lines of at most 92 characters."""
    return textwrap.wrap(text, 92, break_on_hyphens=False, break_long_words=False)


def machine_line(machine: dict, versions: dict | None = None) -> str:
    """The CPU model, cores, CPU flags and torch of a run, saying what was not recorded."""
    cpu = machine.get("cpu") or f"CPU model not recorded ({machine.get('arch', '?')})"
    flags = machine.get("flags")
    if flags is None:
        flags = "CPU flags not recorded"
    else:
        flags = "flags " + (", ".join(flags) or "none of AVX-512 or AMX")
    gpu = {None: "", "none": ", no GPU"}.get(machine.get("gpu"), f", GPU {machine.get('gpu')}")
    line = f"{cpu}, {machine.get('cores', '?')} cores, {flags}{gpu}"
    versions = versions or {}
    software = [f"Python {versions['python']}"] if versions.get("python") else []
    torch = versions.get("torch") or machine.get("torch")
    software += [f"torch {torch}"] if torch else []
    return line + ("; " + ", ".join(software) if software else "")


def _limits(run: dict) -> dict[str, float]:
    speed = run["tokens_per_s"]
    return {kind: speed[key] for kind, key in LIMITS.items()}


def versions_table(result: dict) -> str:
    """Tokens per second of each version (median of the rounds), their ratio, and the
    share of the raw-LSTM limit each reached within its own runs."""
    before, after = result["versions"]["before"], result["versions"]["after"]
    rounds = len(result["runs"]["before"])
    lines = [
        f"`{result['command']}`: {rounds} rounds, the two versions alternating; "
        f"{machine_line(result['machine'])}.",
        "",
        f"| path | {before} tokens/s | {after} tokens/s | after / before (per round) "
        f"| share of the limit, {before} | {after} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    keys = [k for k in PATHS if k in result["rows"]] + sorted(set(result["rows"]) - set(PATHS))
    for key in keys:
        kind, label = PATHS.get(key, (None, f"`{key}`"))
        row = result["rows"][key]
        per_round = ", ".join(f"{r:.2f}" for r in row["ratio_per_round"])
        shares = [
            f"{np.median([r['tokens_per_s'][key] / _limits(r)[kind] for r in runs]):.1%}"
            if kind
            else "-"
            for runs in (result["runs"]["before"], result["runs"]["after"])
        ]
        lines.append(
            f"| {label} | {row['before']:,.0f} | {row['after']:,.0f} "
            f"| {row['ratio']:.3f} ({per_round}) | {shares[0]} | {shares[1]} |"
        )
    return "\n".join(lines) + "\n"


def tokenizer_training_table(result: dict) -> str:
    """Seconds to train each kind's vocabulary: the library's learner against HF's."""
    lines = [
        f"`{result['command']}` (vocab_size={result['options']['vocab_size']:,}, "
        f"min_frequency={result['options']['min_frequency']}); "
        f"{machine_line(result['machine'])}.",
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


def explain_memory_cells(result: dict) -> list[tuple[str, int]]:
    """The (call, documents) pairs measured, occlusion first, the larger size first."""
    cells = {(r["call"], r["n_docs"]) for r in result["rows"]}
    return sorted(cells, key=lambda c: (list(EXPLAIN_CALLS).index(c[0]), -c[1]))


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
        f"shared with other work; {machine_line(result['machine'])}.",
        "",
        "| call | documents | IG steps | before: peak, GB (commit) | after: peak, GB (commit) "
        "| after / before | before: s | after: s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for call, n_docs in explain_memory_cells(result):
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
        f"{machine_line(result['machine'])}.",
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


JSON_RENDERERS: dict[str, Callable[[dict], str]] = {
    "ig_threads": ig_threads_table,
    "versions": versions_table,
    "tokenizer_training": tokenizer_training_table,
    "explain_memory": explain_memory_table,
}
