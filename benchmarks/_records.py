"""Reading the JSON Lines result files and choosing the runs a table shows.

A record is one run (``_results.append``). Where one thing was run several times, a table
shows the runs of the last commit that recorded it (``latest``: the files are only
appended to, so the last line is the newest). Every table ends with the commands, commits
and machines of the runs it shows (``provenance``).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path

from _tables import machine_line

RESULTS = Path(__file__).resolve().parent / "results"


def records(name: str) -> list[dict]:
    """The runs of ``results/<name>.jsonl``, oldest first (none if there is no file)."""
    path = RESULTS / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def latest(runs: Iterable[dict], key: Callable[[dict], Hashable]) -> dict[Hashable, list[dict]]:
    """Per value of ``key``, the runs of the last commit that recorded one, in file order."""
    runs = list(runs)
    last = {key(run): run["commit"] for run in runs}
    groups: dict[Hashable, list[dict]] = {}
    for run in runs:
        if run["commit"] == last[key(run)]:
            groups.setdefault(key(run), []).append(run)
    return groups


def ordered(keys: Iterable[str], known: Iterable[str]) -> list[str]:
    """``keys`` in the order of ``known``, any others after them, sorted."""
    keys, known = set(keys), list(known)
    return [k for k in known if k in keys] + sorted(keys - set(known))


def params(run: dict) -> dict:
    """The run's parameters other than the defaults, less ``precision`` (a label of its own)."""
    return {k: v for k, v in (run.get("params") or {}).items() if k != "precision"}


def precision(run: dict) -> str:
    """What the run computed in: its ``precision`` label, else its ``precision`` parameter,
    else ``"fp32"`` (runs from before the parameter, and the baselines)."""
    return run.get("precision") or (run.get("params") or {}).get("precision") or "fp32"


def median(values: Iterable[float | None]) -> float | None:
    given = [v for v in values if v is not None]
    return statistics.median(given) if given else None


def provenance(runs: Iterable[dict]) -> list[str]:
    """A bullet per commit and note, with its commands, and one per machine (one line each,
    so that no command is broken)."""
    commands: dict[tuple, list[str]] = {}
    machines: dict[str, None] = {}
    for run in runs:
        where = (run["commit"], run.get("dirty"), run.get("recorded_in"), run.get("note"))
        listed = commands.setdefault(where, [])
        if run["command"] not in listed:
            listed.append(run["command"])
        machines.setdefault(machine_line(run["machine"], run.get("versions")), None)
    lines = []
    for (commit, dirty, recorded_in, note), listed in commands.items():
        what = "; ".join(f"`{c}`" for c in listed if c) or "Command not recorded"
        if commit:
            where = f"commit `{commit[:7]}`" + (" with uncommitted changes" if dirty else "")
        else:
            where = "commit not recorded" + (f" (entered in `{recorded_in}`)" * bool(recorded_in))
        lines.append(f"- {what}, {where}" + (f": {note}" if note else ""))
    if len(machines) == 1:  # one machine: said on the last line
        return [*lines[:-1], f"{lines[-1]}. Machine: {next(iter(machines))}."]
    return [line + "." for line in lines] + [f"- Machine: {machine}." for machine in machines]
