"""Write ``benchmarks/RESULTS.md`` from the result files in ``benchmarks/results/``.

    python benchmarks/report.py          # rewrite RESULTS.md and the tables of NOTES.md
    python benchmarks/report.py --check  # exit 1 if either differs from its result files

All of ``RESULTS.md`` is generated, and its prose holds no figure: every figure comes from
a JSON Lines file of ``results/`` (one record a run, written by ``_results.append``):

- ``corpora.jsonl`` (``compare.py``): accuracy and cost on five corpora, per precision;
- ``throughput.jsonl`` (``throughput.py``): tokens/s against a raw ``nn.LSTM``, per precision;
- ``explanations.jsonl`` (``faithfulness.py``), ``explain-cost.jsonl``, and the after-side
  of ``explain-memory.json``: faithfulness, agreement, seconds and memory of explanations;
- ``translator.jsonl`` (``translation.py``) and ``predict-memory.jsonl`` (``predict_memory.py``).

Where one thing was run several times, a table shows the runs of the last commit that
recorded it (the files are only appended to, so the last line is the newest): all the
seeds of that commit, the median of its timings. ``NOTES.md`` is written by hand but for
its tables between ``<!-- begin report: NAME -->`` and ``<!-- end report: NAME -->``,
rewritten from ``results/NAME.json`` (``_tables.JSON_RENDERERS``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PAGE = HERE / "RESULTS.md"
NOTES = HERE / "NOTES.md"
BLOCK = re.compile(
    r"(<!-- begin report: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- end report: (?P=name) -->)",
    re.DOTALL,
)

sys.path.insert(0, str(HERE))
from _records import records  # noqa: E402  (benchmarks/_records.py)
from _sections import (  # noqa: E402
    accuracy_section,
    dates_vs_book_section,
    explanations_section,
    ig_speed_section,
    int8_section,
    precision_section,
    predict_memory_section,
    throughput_section,
    translator_section,
)
from _tables import JSON_RENDERERS  # noqa: E402

INTRO = """\
# Benchmark results

Written by `python benchmarks/report.py` from the result files in `benchmarks/results/`
(JSON Lines, one record a run: commit, machine, CPU flags, versions, command, figures); edit
those, not this page. How the figures came about (options tried and rejected, profiles,
reruns at each commit, version 0.1) is in [NOTES.md](NOTES.md).

**The defaults were chosen by looking at these test sets.** bilstm-attn's settings
(weight averaging, vocabulary size, score function, ...) were kept after scoring them on
the test splits below, most of them on 20 Newsgroups with `random_state=0` (every setting
tried is in NOTES.md, "Where the accuracy came from"). Its accuracies are optimistic, and
where its margin over a baseline is no wider than the range between seeds, it is not a
result. Seeds other than 0 are shown where they were run.

Each table names its commands, commit and machine; records transcribed from the
hand-written page of `deb83a0` say so (`source`), their CPU "not recorded". Timings move
from run to run: compare figures within one table. **Bold** marks the best figure in a
row among the alternatives it compares, nothing else.
"""


def render_page() -> str:
    """The whole of RESULTS.md."""
    corpora = records("corpora")
    sections = [
        INTRO.rstrip("\n").splitlines(),
        accuracy_section(corpora),
        precision_section(corpora),
        throughput_section(records("throughput")),
        int8_section(records("int8-prediction")),
        explanations_section(records("explanations"), records("explain-cost"))
        + ig_speed_section(records("ig-speed")),
        translator_section(records("translator"), records("dates-vs-book"))
        + dates_vs_book_section(records("dates-vs-book")),
        predict_memory_section(records("predict-memory")),
    ]
    lines = [line for section in sections for line in (*section, "")]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_blocks(text: str) -> str:
    """``text`` with each generated block rewritten from its ``results/NAME.json``."""

    def block(match: re.Match) -> str:
        result = json.loads((RESULTS / f"{match['name']}.json").read_text(encoding="utf-8"))
        return match.group(1) + JSON_RENDERERS[result["benchmark"]](result) + match.group(4)

    return BLOCK.sub(block, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args()
    notes = NOTES.read_text(encoding="utf-8") if NOTES.exists() else ""
    names = [match["name"] for match in BLOCK.finditer(notes)]
    missing = [name for name in names if not (RESULTS / f"{name}.json").exists()]
    if missing:
        print(f"no result file for {', '.join(missing)} in {RESULTS}", file=sys.stderr)
        return 1
    wanted = {PAGE: render_page()}
    if NOTES.exists():
        wanted[NOTES] = render_blocks(notes)
    current = {path: path.read_text(encoding="utf-8") for path in wanted if path.exists()}
    stale = [path for path, text in wanted.items() if current.get(path) != text]
    if args.check:
        for path in stale:
            print(f"{path.name} differs from its result files; run python benchmarks/report.py")
        if not stale:
            print("RESULTS.md and NOTES.md are current")
        return int(bool(stale))
    for path in stale:
        path.write_text(wanted[path], encoding="utf-8")
    print(f"rewrote {', '.join(p.name for p in stale) or 'nothing (all current)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
