"""Accuracy and cost on five real corpora: bilstm-attn against TF-IDF + LR and fastText.

    python benchmarks/compare.py [--corpora imdb sst2 nsmc trec 20newsgroups]
                                 [--models tfidf_lr fasttext bilstm_attn] [--threads N]
                                 [--params '{"vocab_size": 60000}']

Every model runs with fixed, documented settings (bilstm-attn: its defaults,
``random_state=0``) in a fresh process, one after the other, so that each peak memory
(``ru_maxrss``) is its own. Per corpus and model: test accuracy, epochs, fit seconds,
training tokens per second (whitespace words for the baselines, tokenizer pieces times
epochs for bilstm-attn), prediction documents per second and peak memory. Each run is
appended to ``benchmarks/results/corpora.jsonl`` (``_results.append``: commit, machine,
versions, command; ``report.py`` makes the accuracy table of ``RESULTS.md`` from it) and a
Markdown table goes to standard output. Reads ``../shared/data`` through ``load_dataset``.
``--threads`` sets torch's and fastText's threads (default: torch's default, the number of
cores); run two invocations with ``--threads 1`` side by side to use two cores for two
corpora.
``--params`` measures bilstm-attn with parameters other than its defaults (recorded as
``params``, ``random_state`` as ``seed``); the accuracy table of ``RESULTS.md`` shows runs
without other parameters, and their precision (``"fp32"`` or ``"bf16"``) apart.

- ``tfidf_lr``: ``TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)`` and
  ``LogisticRegression(C=10, max_iter=2000)``.
- ``fasttext``: ``fasttext.train_supervised(epoch=25, wordNgrams=2, dim=100, lr=0.5)``
  (``pip install fasttext-wheel``; skipped where it does not import) on the shuffled
  training set; newlines in texts become spaces, as fastText's input format requires.
  fastText's tutorial ends at ``epoch=25, lr=1.0``; here ``lr=0.5`` did better than
  1.0 on three corpora of five (IMDB, NSMC, TREC). The first settings of this script
  (``epoch=10, lr=0.1``) left 20 Newsgroups at 10.5%: too few and too small steps for
  20 classes of long messages (71.8% with these).
- TREC uses its 6 coarse labels.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import append  # noqa: E402  (benchmarks/_results.py)

DATA = HERE.parent / ".." / "shared" / "data"
SPLITS = {
    "imdb": ("train", "test"),
    "sst2": ("train", "dev"),
    "nsmc": ("train", "test"),
    "trec": ("train", "test"),
    "20newsgroups": ("train", "test"),
}
MODELS = ("tfidf_lr", "fasttext", "bilstm_attn")
THREADS = 1  # set from --threads
PARAMS: dict = {}  # set from --params


def _words(texts) -> int:
    return int(sum(len(t.split()) for t in texts))


def run_tfidf_lr(train, test) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=10, max_iter=2000),
    )
    started = time.perf_counter()
    model.fit(train["text"], train["label"])
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = model.predict(test["text"])
    return {
        "accuracy": float(np.mean(predicted == test["label"].to_numpy())),
        "epochs": None,
        "fit_seconds": fit_seconds,
        "train_tokens_per_s": _words(train["text"]) / fit_seconds,
        "predict_docs_per_s": len(test) / (time.perf_counter() - started),
    }


def run_fasttext(train, test) -> dict:
    import fasttext

    def line(text: str) -> str:
        return " ".join(text.split())

    # fastText reads its file in order with a decaying learning rate: shuffle first
    # (IMDB and 20 Newsgroups are sorted by label).
    train = train.sample(frac=1, random_state=0)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as handle:
        for text, label in zip(train["text"], train["label"]):
            handle.write(f"__label__{label} {line(text)}\n")
        handle.flush()
        started = time.perf_counter()
        model = fasttext.train_supervised(
            handle.name, epoch=25, wordNgrams=2, dim=100, lr=0.5, verbose=0, thread=THREADS
        )
        fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    labels, _ = model.predict([line(t) for t in test["text"]])  # a list: see DESIGN.md
    predicted = [label[0].removeprefix("__label__") for label in labels]
    truth = test["label"].astype(str).to_numpy()
    return {
        "accuracy": float(np.mean(np.asarray(predicted) == truth)),
        "epochs": 25,
        "fit_seconds": fit_seconds,
        "train_tokens_per_s": 25 * _words(train["text"]) / fit_seconds,
        "predict_docs_per_s": len(test) / (time.perf_counter() - started),
    }


def run_bilstm_attn(train, test) -> dict:
    from bilstm_attn import BiLSTMAttentionClassifier
    from bilstm_attn.text import encode

    clf = BiLSTMAttentionClassifier(**{"random_state": 0, **PARAMS})
    started = time.perf_counter()
    clf.fit(train["text"], train["label"])
    fit_seconds = time.perf_counter() - started
    pieces = int(sum(map(len, encode(clf.tokenizer_, list(train["text"]), clf.max_length))))
    started = time.perf_counter()
    accuracy = clf.score(test["text"], test["label"])
    return {
        "precision": _precision(clf),
        "accuracy": float(accuracy),
        "epochs": len(clf.history_),
        "best_epoch": clf.best_epoch_,
        "fit_seconds": fit_seconds,
        # every epoch trains on the 90% that is not held out for early stopping
        "train_tokens_per_s": 0.9 * pieces * len(clf.history_) / fit_seconds,
        "predict_docs_per_s": len(test) / (time.perf_counter() - started),
    }


def _precision(clf) -> str:
    """What the fitted classifier computed in: ``"fp32"`` or ``"bf16"``."""
    try:
        from bilstm_attn._precision import resolve_precision
    except ImportError:  # a version without the precision parameter: float32 throughout
        return "fp32"
    return resolve_precision(clf.get_params().get("precision", "fp32"), clf.device_)


def run_one(model: str, corpus: str, data_home: str) -> dict:
    import torch

    from bilstm_attn.datasets import load_dataset

    torch.set_num_threads(THREADS)

    train_split, test_split = SPLITS[corpus]
    train = load_dataset(corpus, train_split, data_home)
    test = load_dataset(corpus, test_split, data_home)
    result = globals()[f"run_{model}"](train, test)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"corpus": corpus, "model": model, **result, "peak_rss_mib": round(peak)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", choices=sorted(SPLITS), default=list(SPLITS))
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--data-home", default=str(DATA))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--params", type=json.loads, default={}, help="bilstm-attn parameters")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "CORPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    global THREADS, PARAMS
    THREADS = args.threads or os.cpu_count() or 1
    PARAMS = args.params
    if args.one:
        print(json.dumps(run_one(*args.one, args.data_home)))
        return
    rows = []
    for corpus in args.corpora:
        for model in args.models:
            command = [sys.executable, __file__, "--one", model, corpus,
                       "--data-home", args.data_home, "--threads", str(THREADS),
                       "--params", json.dumps(PARAMS)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["?"])[-1]
                print(f"{corpus} / {model}: skipped ({last})", file=sys.stderr)
                continue
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            del figures["corpus"], figures["model"]
            precision = figures.pop("precision", None)  # bilstm-attn's only
            params = dict(PARAMS) if model == "bilstm_attn" else {}
            seed = params.pop("random_state", 0) if model == "bilstm_attn" else None
            append("corpora", figures, corpus=corpus, model=model, params=params, seed=seed,
                   precision=precision, threads=THREADS)  # fmt: skip
            rows.append({"corpus": corpus, "model": model, **figures})
            print(json.dumps(rows[-1]), file=sys.stderr)
    table = pd.DataFrame(rows)
    if not table.empty:
        print(table.round(4).to_markdown(index=False))


if __name__ == "__main__":
    main()
