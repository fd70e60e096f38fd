"""The sections of ``RESULTS.md``, each made from the records of one or two result files:
the runs of the last commit that recorded each thing (``_records.latest``), all its seeds,
the median of its timings, then the commands, commits and machines of those runs.
"""

from __future__ import annotations

import json
import shlex
import statistics
from collections.abc import Iterable

from _records import RESULTS, latest, median, ordered, params, precision, provenance
from _tables import (
    EXPLAIN_CALLS,
    LIMITS,
    PATHS,
    bold_best,
    explain_memory_cells,
    machine_line,
    number,
    seconds,
    table,
    wrap,
)

CORPORA = {
    "imdb": "IMDB",
    "sst2": "SST-2 (dev)",
    "nsmc": "NSMC",
    "trec": "TREC (coarse)",
    "20newsgroups": "20 Newsgroups",
    "reviews": "bundled reviews",
}
MODELS = {"tfidf_lr": "TF-IDF + LR", "fasttext": "fastText", "bilstm_attn": "bilstm-attn"}
METHODS = {
    "attention": "attention",
    "integrated_gradients": "integrated gradients",
    "occlusion": "occlusion",
    "random": "random",
}
PRECISIONS = ("fp32", "bf16")


def name(key: str, names: dict[str, str]) -> str:
    return names.get(key, key)


def accuracy_cells(groups: list[list[dict]]) -> list[str]:
    """Mean accuracy in % of each group of runs, the best in bold, with the range of several."""
    values = [[100 * run["figures"]["accuracy"] for run in runs] for runs in groups]
    means = [round(statistics.fmean(v), 2) if v else None for v in values]
    cells = bold_best([number(m, 2) for m in means], means, higher=True)
    spans = [f" ({min(v):.2f}-{max(v):.2f})" if len(v) > 1 else "" for v in values]
    return [cell + span for cell, span in zip(cells, spans)]


def runs_cell(groups: dict[str, list[dict]]) -> str:
    """Which seeds each model ran (or how many runs, where it has no seed)."""
    said = []
    for model, runs in groups.items():
        seeds = [str(r["seed"]) for r in runs if r.get("seed") is not None]
        if seeds:
            said.append(f"{name(model, MODELS)}: seed{'s' * (len(seeds) > 1)} {', '.join(seeds)}")
        elif len(runs) > 1:
            said.append(f"{name(model, MODELS)}: {len(runs)} runs")
    return "; ".join(said) or "-"


def cost_cells(groups: list[list[dict]], figures: Iterable[tuple]) -> list[str]:
    """Per figure (key, higher is better, format), the median of each group, best in bold."""
    cells = []
    for figure, higher, show in figures:
        values = [median(r["figures"].get(figure) for r in runs) for runs in groups]
        cells += bold_best([show(v) for v in values], values, higher)
    return cells


def accuracy_section(runs: list[dict]) -> list[str]:
    plain = [r for r in runs if not params(r) and precision(r) == "fp32"]
    groups = latest(plain, lambda r: (r["corpus"], r["model"]))
    corpora = ordered({c for c, _ in groups}, CORPORA)
    models = ordered({m for _, m in groups}, MODELS)
    names = [name(m, MODELS) for m in models]
    lines = ["## Accuracy on five corpora", ""]
    if not groups:
        return lines + ["No run recorded in `corpora.jsonl` yet."]
    lines += wrap(
        "Test accuracy in % (SST-2: its dev set; TREC: its 6 coarse classes); the "
        "mean, and the range where there are several runs. bilstm-attn: its defaults "
        "in fp32, one run per `random_state` listed; the baselines' settings are in "
        "`compare.py`."
    )
    accuracy, cost, used = [], [], []
    figures = (
        ("fit_seconds", False, seconds),
        ("predict_docs_per_s", True, number),
        ("peak_rss_mib", False, number),
    )
    for corpus in corpora:
        cells = [groups.get((corpus, m), []) for m in models]
        shown = {m: groups[(corpus, m)] for m in models if (corpus, m) in groups}
        accuracy.append([name(corpus, CORPORA), *accuracy_cells(cells), runs_cell(shown)])
        cost.append([name(corpus, CORPORA), *cost_cells(cells, figures)])
        used += [r for group in cells for r in group]
    lines += ["", *table(["corpus", *names, "runs"], "l" + "r" * len(models) + "l", accuracy), ""]
    lines += wrap(
        "Cost: fit in seconds, prediction in test documents per second (docs/s), "
        "peak resident memory of the process (`ru_maxrss`) in MiB; the median of the "
        "runs that measured it."
    )
    header = [
        f"{what}: {n}" if i == 0 else n
        for what in ("fit", "docs/s", "MiB")
        for i, n in enumerate(names)
    ]
    return lines + [
        "",
        *table(["corpus", *header], "l" + "r" * len(header), cost),
        "",
        *provenance(used),
    ]


def precision_section(runs: list[dict]) -> list[str]:
    lines = ["## bilstm-attn in fp32 and bf16", ""]
    bf16 = [r for r in runs if precision(r) == "bf16" and not params(r)]
    if not bf16:
        return lines + [
            "No run in `corpora.jsonl` computed in bf16 yet: every accuracy above is fp32."
        ]
    lines += wrap(
        "The defaults in each precision: test accuracy (%), fit seconds and "
        "prediction documents per second; the fp32 runs are those on the machine of "
        "the bf16 ones."
    )
    rows, used = [], []
    figures = (("fit_seconds", False, seconds), ("predict_docs_per_s", True, number))
    for corpus, group in latest(bf16, lambda r: r["corpus"]).items():
        same = [
            r
            for r in runs
            if precision(r) == "fp32"
            and not params(r)
            and r["corpus"] == corpus
            and r["model"] == group[0]["model"]
            and r["machine"] == group[0]["machine"]
        ]
        both = [latest(same, lambda r: 0).get(0, []), group]
        rows.append([name(corpus, CORPORA), *accuracy_cells(both), *cost_cells(both, figures)])
        used += both[0] + both[1]
    header = ["corpus", "accuracy: fp32", "bf16", "fit: fp32", "bf16", "docs/s: fp32", "bf16"]
    return lines + ["", *table(header, "lrrrrrr", rows), "", *provenance(used)]


def throughput_row(path: str, group: list[dict], precisions: list[str]) -> list[str]:
    """A path's tokens/s in each precision (the median of the runs, the fastest in bold)
    and its share of the limit (taken within each run, then the median)."""
    kind, label = PATHS.get(path, (None, f"`{path}`"))
    values, shares, counts = [], [], []
    for wanted in precisions:
        speeds = [r["figures"]["tokens_per_s"] for r in group if precision(r) == wanted]
        speeds = [s for s in speeds if path in s]
        limit = LIMITS.get(kind)
        share = median(s[path] / s[limit] for s in speeds if s.get(limit))
        values.append(median(s[path] for s in speeds))
        shares.append("-" if share is None else f"{share:.1%}")
        counts.append(str(len(speeds)))
    speed = bold_best([number(v) for v in values], values, higher=True)
    row = [label, *(x for pair in zip(speed, shares) for x in pair)]
    if len(precisions) == 2:
        row.append(f"{values[1] / values[0]:.2f}" if None not in values else "-")
        # the reduced precision's speed against the float32 limit, what it is measured by
        limit = LIMITS.get(kind)
        fp32 = [r["figures"]["tokens_per_s"] for r in group if precision(r) == precisions[0]]
        full_limit = median(s.get(limit) for s in fp32 if s.get(limit))
        row.append(f"{values[1] / full_limit:.2f}" if values[1] and full_limit else "-")
    return [*row, " / ".join(counts)]


def throughput_section(runs: list[dict]) -> list[str]:
    lines = ["## Training and prediction against a raw `nn.LSTM`", ""]
    if not runs:
        return lines + ["No run recorded in `throughput.jsonl` yet."]

    def key(run: dict) -> tuple:
        return (
            run["commit"],
            json.dumps(run["machine"], sort_keys=True),
            run.get("corpus"),
            run.get("n_docs"),
            run.get("threads"),
            json.dumps(params(run), sort_keys=True),
        )

    group = [r for r in runs if key(r) == key(runs[-1])]  # the last run's, all precisions
    precisions = ordered({precision(r) for r in group}, PRECISIONS)
    # The naive baselines (random batches, packing, the given order) are in NOTES.md.
    naive = {"raw_train_random", "raw_train_packed", "raw_predict_given_order"}
    found = {p for r in group for p in r["figures"]["tokens_per_s"]} - naive
    paths = ordered(found, PATHS)
    run = group[-1]
    lines += wrap(
        f"Tokens per second (real pieces, not padding) on {run.get('n_docs', 0):,} texts of "
        f"{name(run.get('corpus'), CORPORA)}'s train split ({run['figures'].get('tokens', 0):,} "
        f"pieces), {run.get('threads')} torch threads; each run's figure is the median of its "
        "repeats, and the table gives the median over runs. The limit is a bare bidirectional "
        "`nn.LSTM` of the same size on the library's own batch shapes, in the same precision; "
        "a path's share of it is taken within each run, then the median."
        + (
            f' `precision="auto"` picks {run["auto_picks"]} on this machine.'
            if run.get("auto_picks")
            else ""
        )
    )
    rows = [throughput_row(path, group, precisions) for path in paths]
    header = ["path", *(x for p in precisions for x in (f"{p} tokens/s", "share of the limit"))]
    if len(precisions) == 2:
        header += [f"{precisions[1]} / {precisions[0]}", f"{precisions[1]} / {precisions[0]} limit"]
    header += ["runs" + (f" ({' / '.join(precisions)})" if len(precisions) > 1 else "")]
    return lines + ["", *table(header, "l" + "r" * (len(header) - 1), rows), "", *provenance(group)]


def span(value: float | str) -> str:
    """A figure to three decimals, or a range as the record wrote it."""
    return value if isinstance(value, str) else f"{value:.3f}"


def faithfulness_rows(groups: dict) -> tuple[list[str], list[list[str]]]:
    rows, names = [], list(METHODS)
    for (corpus, attention), group in groups.items():
        run = group[-1]
        methods = run["figures"]["methods"]
        names = ordered(methods, METHODS)
        label = [
            f"{name(corpus, CORPORA)}, {run['n_docs']} texts",
            f"{attention} (accuracy {run['figures']['accuracy']:.3f})",
        ]
        for measure, higher in (
            ("comprehensiveness", True),
            ("sufficiency", False),
            ("top_word_is_deciding", True),
        ):
            values = [methods[m].get(measure) for m in names]
            if all(v is None for v in values):
                continue
            cells = [number(v, 3) for v in values]
            chance = methods.get("random", {}).get(f"{measure}_chance")
            if chance is not None:
                cells[names.index("random")] = f"(chance {chance:.3f})"
            rows.append([*label, measure.replace("_", " "), *bold_best(cells, values, higher)])
            label = ["", ""]
    return names, rows


def explanations_section(runs: list[dict], cost: list[dict]) -> list[str]:
    # The default score function; the others (additive, the former default) are in NOTES.md.
    groups = latest([r for r in runs if r["attention"] == "dot"], lambda r: r["corpus"])
    groups = {(corpus, "dot"): group for corpus, group in groups.items()}
    lines = ["## Explanations", "", "### Faithfulness and agreement", ""]
    lines += wrap(
        "AOPC over the top 1, 5, 10, 20 and 50% of the words read, on held-out texts: "
        "comprehensiveness is the drop of the predicted class's probability when those words "
        "are removed (higher is more faithful), sufficiency the drop when only they are kept "
        "(lower is better); on the bundled reviews, also how often a method's top word is a "
        "word that decides the label. Integrated gradients: 50 steps from a `[PAD]` baseline. "
        "Attention weights are not by themselves a faithful attribution: these rows check them. "
        "The default dot scores; additive scores are compared in NOTES.md."
    )
    names, rows = faithfulness_rows(groups)
    header = ["corpus", "scores", "measure", *(name(m, METHODS) for m in names)]
    lines += ["", *table(header, "lll" + "r" * len(names), rows), ""]
    lines += wrap(
        "Agreement between the methods' word weights, Kendall tau / top-5 overlap "
        "(no bold: it says how alike two rankings are, not which is right):"
    )
    rows, pairs = [], []
    for (corpus, attention), group in groups.items():
        agreement = group[-1]["figures"]["agreement"]
        pairs = list(agreement)
        cells = [
            f"{span(agreement[p]['kendall_tau'])} / {span(agreement[p]['top5_overlap'])}"
            for p in pairs
        ]
        rows.append([name(corpus, CORPORA), attention, *cells])
    header = ["corpus", "scores", *(p.replace("_", " ") for p in pairs)]
    lines += ["", *table(header, "ll" + "r" * len(pairs), rows), ""]
    lines += provenance(r for group in groups.values() for r in group)
    return lines + explain_cost_section(cost) + explain_memory_section()


def explain_cost_section(runs: list[dict]) -> list[str]:
    if not runs:
        return []
    run = runs[-1]
    spent = run["figures"]["seconds_per_doc"]
    names = ordered(spent, METHODS)
    values = [spent[m] for m in names]
    lines = ["", "### Cost per document", ""]
    lines += wrap(
        f"Seconds per document of `clf.explain` on {run['n_docs']} "
        f"{name(run['corpus'], CORPORA)} test reviews ({run['figures']['mean_pieces']} "
        f"pieces on average), a model with {run['model']}, {run['threads']} torch "
        f"threads, integrated gradients with {run['n_steps']} steps."
    )
    cells = bold_best([number(v, 2, " s") for v in values], values, higher=False)
    lines += [
        "",
        *table(
            ["", *(name(m, METHODS) for m in names)],
            "l" + "r" * len(names),
            [["seconds per document", *cells]],
        ),
    ]
    return lines + ["", *provenance([run])]


def explain_memory_section() -> list[str]:
    """The after-side of ``explain-memory.json``: the peaks of the current code."""
    path = RESULTS / "explain-memory.json"
    if not path.exists():
        return []
    result = json.loads(path.read_text(encoding="utf-8"))
    after = {(r["call"], r["n_docs"]): r for r in result["rows"] if r["version"] == "after"}
    rows = []
    for call, n_docs in explain_memory_cells(result):
        run = after.get((call, n_docs))
        if run is not None and (n_docs >= 1000 or call == "integrated_gradients"):
            peak = f"{run['peak_bytes'] / 1e9:.2f}" if run["status"] == "ok" else run["status"]
            steps = "-" if call == "occlusion" else str(run["n_steps"])
            rows.append(
                [
                    EXPLAIN_CALLS[call],
                    f"{n_docs:,}",
                    steps,
                    peak,
                    f"{run['seconds']:,.0f}",
                    f"`{run['commit']}`",
                ]
            )
    lines = ["", "### Peak memory", ""]
    lines += wrap(
        "Peak resident memory (`ru_maxrss`, GB of 10^9 bytes) of each call in a "
        "fresh process, on IMDB test reviews at `max_length=800`, with the chunked "
        "code (the peaks before it: NOTES.md)."
    )
    header = ["call", "documents", "IG steps", "peak, GB", "seconds", "commit"]
    lines += ["", *table(header, "lrrrrl", rows), ""]
    lines.append("- " + "; ".join(f"`{c}`" for c in result["commands"]) + ".")
    return lines + [f"- Machine: {machine_line(result['machine'])}."]


def dates_lines(dates: dict) -> list[str]:
    rows = []
    for command, group in dates.items():
        f = group[-1]["figures"]
        epochs = f"{f['epochs']} ({f['best_epoch']})" if f.get("best_epoch") else str(f["epochs"])
        rows.append(
            [
                f"`{shlex.join(shlex.split(command)[2:])}`",
                str(group[-1]["threads"]),
                epochs,
                f"{f['exact_match']:.4f}",
                str(f["errors"]),
                seconds(f["fit_seconds"]),
            ]
        )
    n_test = next(iter(dates.values()))[-1]["figures"]["n_test"]
    lines = ["### Dates", ""]
    lines += wrap(
        "Written dates to `YYYY-MM-DD` (*Deep Learning from Scratch 2*'s `date.txt`, "
        "the book's split), characters, default parameters, greedy search; exact "
        f"match of the whole output on {n_test:,} held-out dates."
    )
    header = ["options", "torch threads", "epochs (best)", "exact match", "errors", "fit"]
    lines += ["", *table(header, "lrrrrr", rows), ""]
    return lines + provenance(r for group in dates.values() for r in group)


def multi30k_lines(run: dict) -> list[str]:
    f = run["figures"]
    searches = list(f["bleu"])
    bleu = [f["bleu"][s] for s in searches]
    spent = [f.get("translate_seconds", {}).get(s) for s in searches]
    lines = ["### Multi30k German -> English", ""]
    lines += wrap(
        f"sacrebleu corpus BLEU on `{run['test_split']}` ({f['n_test']:,} sentences), "
        f"{f['parameters_millions']}M parameters (settings in `translation.py`), "
        f"trained {f['epochs']} epochs (best {f['best_epoch']}) in "
        f"{seconds(f['fit_seconds'])} on {run['threads']} torch threads."
    )
    rows = [
        ["BLEU", *bold_best([f"{b:.2f}" for b in bleu], bleu, True)],
        [
            f"translate {f['n_test']:,} sentences",
            *bold_best([seconds(s) for s in spent], spent, False),
        ],
    ]
    header = ["", *(s.replace("_", " ") for s in searches)]
    return lines + ["", *table(header, "l" + "r" * len(searches), rows), "", *provenance([run])]


def translator_section(runs: list[dict], book: list[dict] | None = None) -> list[str]:
    lines = ["## Translator", ""]
    dates = latest([r for r in runs if r["corpus"] == "dates"], lambda r: r["command"])
    if dates and not book:  # the runs against the book supersede translation.py's dates
        lines += [*dates_lines(dates), ""]
    multi30k = [r for r in runs if r["corpus"] == "multi30k"]
    return lines + (multi30k_lines(multi30k[-1]) if multi30k else [])


def predict_memory_section(runs: list[dict]) -> list[str]:
    lines = ["## `bilstm-attn predict` on a large file", ""]
    groups = latest(runs, lambda r: r["chunksize"])
    if not groups:
        return lines + ["No run recorded in `predict-memory.jsonl` yet."]
    last = [group[-1] for group in groups.values()]
    sizes = [s if isinstance(s, str) else f"`--chunksize` {s:,}" for s in groups]
    peak = [r["figures"]["peak_rss_mib"] for r in last]
    speed = [r["figures"]["rows_per_s"] for r in last]
    lines += wrap(
        f"`bilstm-attn predict` on {last[0]['n_rows']:,} IMDB reviews "
        f"({last[0]['csv_mib']} MiB of CSV) read `--chunksize` rows at a time "
        "(default 10,000) or the whole file at once, with a small model; each run a "
        f"fresh process, its peak resident memory; {last[0]['threads']} torch "
        "threads."
    )
    rows = [
        ["peak memory", *bold_best([number(v, 0, " MiB") for v in peak], peak, False)],
        ["rows / s", *bold_best([number(v) for v in speed], speed, True)],
    ]
    return lines + ["", *table(["", *sizes], "l" + "r" * len(sizes), rows), "", *provenance(last)]


def int8_section(runs: list[dict]) -> list[str]:
    """``predict_proba`` in float32, bf16 and dynamic int8 on one model, per machine."""
    lines = ["## Prediction in float32, bf16 and int8", ""]
    if not runs:
        return lines + ["No run recorded in `int8-prediction.jsonl` yet."]
    last = list(latest(runs, lambda r: json.dumps(r["machine"], sort_keys=True)).values())
    run = last[-1][-1]
    figures = run["figures"]
    lines += wrap(
        f"`predict_proba` on {figures['n_test']:,} IMDB test reviews "
        f"({figures['tokens']:,} pieces), {figures['threads']} torch threads, by one model "
        f"(default parameters, 4 epochs on {figures['n_train']:,} training reviews, in "
        "float32) computing in each way; the median of the rounds. int8 is PyTorch's "
        "dynamic quantization (weights int8, activations quantized per batch) under each "
        f'quantized engine. On this machine `precision="auto"` picks {run["auto_picks"]}.'
    )
    variants = figures["variants"]
    cells = [number(row["docs_per_s"], 0) for row in variants.values()]  # a column: no bold
    fp32 = variants["fp32"]["docs_per_s"]
    rows = [
        [
            name,
            cell,
            f"{row['docs_per_s'] / fp32:.2f}",
            f"{100 * row['accuracy']:.2f}",
            f"{100 * row['agreement_with_fp32']:.2f}",
            f"{row['max_probability_difference']:.4f}",
        ]
        for (name, row), cell in zip(variants.items(), cells)
    ]
    header = ["variant", "docs/s", "against fp32", "accuracy %", "same label as fp32 %",
              "largest probability difference"]  # fmt: skip
    return lines + ["", *table(header, "lrrrrr", rows), "", *provenance([run])]


def ig_speed_section(runs: list[dict]) -> list[str]:
    lines = ["", "### Integrated gradients, two commits side by side", ""]
    if not runs:
        return lines + ["No run recorded in `ig-speed.jsonl` yet."]
    run = runs[-1]
    figures, compared = run["figures"], run["compared"]
    lines += wrap(
        f'`explain(method="integrated_gradients", n_steps={run["n_steps"]})` on '
        f"{run['n_docs']} IMDB test reviews ({figures['after']['pieces']:,} pieces), "
        f"{run['threads']} torch threads, two commits side by side, each round a fresh "
        "process per commit; the median of the rounds, and the largest completeness error "
        f"(`delta`) of any review. Before / after: {figures['before_over_after']:.2f}x."
    )
    sides = ("before", "after")
    cells = [f"{figures[side]['seconds_per_review']:.3f} s" for side in sides]
    rows = [
        [f"`{compared[side]}` ({side})", cell, f"{figures[side]['max_abs_delta']:.1e}"]
        for side, cell in zip(sides, cells)
    ]
    lines += ["", *table(["commit", "seconds per review", "largest completeness error"], "lrr",
                         rows)]  # fmt: skip
    return lines + ["", *provenance([run])]


def dates_vs_book_section(runs: list[dict]) -> list[str]:
    lines = ["", "### Dates against the book's own code", ""]
    if not runs:
        return lines + ["No run recorded in `dates-vs-book.jsonl` yet."]
    run = runs[-1]
    figures = run["figures"]
    library, book = figures["library"], figures["book"]
    lines += wrap(
        "*Deep Learning from Scratch 2*'s date task on the book's split "
        f"({library['n_train']:,} / {library['n_test']:,}): the book's NumPy "
        "`AttentionSeq2seq` with its `ch08/train.py` settings (training seconds of each "
        "epoch; exact match on the held-out dates after each, not timed) against "
        "`Seq2SeqTranslator(max_epochs=1)` (the whole `fit`, tokenizer and validation "
        f"included, in {library['precision']}); {run['threads']} threads each."
    )
    rows = [["bilstm-attn, 1 epoch", f"{library['seconds']:.1f} s",
             f"{100 * library['exact']:.2f}"]]  # fmt: skip
    spent = 0.0
    for number_, epoch in enumerate(book["epochs"], start=1):
        spent += epoch["seconds"]
        rows.append([f"the book, {number_} epoch{'s' * (number_ > 1)}", f"{spent:.1f} s",
                     f"{100 * epoch['exact']:.2f}"])  # fmt: skip
    lines += ["", *table(["model", "training time", "exact match %"], "lrr", rows), ""]
    reached = book.get("reached_library_exact")
    until = (f"its first {reached['epoch']} epochs" if reached
             else f"all {len(book['epochs'])} epochs: it never reached it")  # fmt: skip
    lines += wrap(f"The book's training time to the library's exact match ({until}), over "
                  f"the library's fit: {figures['book_over_library']:.2f}x.")  # fmt: skip
    lines += ["", *provenance([run])]
    return lines
