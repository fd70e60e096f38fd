"""Seq2SeqTranslator on real data: the book's date set and Multi30k German -> English.

    python benchmarks/translation.py --corpus dates          # default parameters
    python benchmarks/translation.py --corpus multi30k      # sub-word model, beam search

``dates``: ``dlfs2/date.txt.gz`` from *Deep Learning from Scratch 2* with the book's own
split (shuffled with seed 1984, last 10% held out: 45,000 / 5,000); exact match on the
held-out dates. ``multi30k``: train on ``train`` (29,000 pairs), stop early on ``val``-like
held-out pairs, report sacrebleu BLEU on ``test_2016_flickr``. Reads ``../shared/data``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bilstm_attn import Seq2SeqTranslator
from bilstm_attn.datasets import load_dataset

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def book_date_split(data: Path) -> tuple[list[str], list[str], list[str], list[str]]:
    """date.txt with the book's split (``load_dataset("dlfs2_date")``: seed 1984, 10% out)."""
    train, test = (load_dataset("dlfs2_date", split, data) for split in ("train", "test"))
    return list(train["source"]), list(train["target"]), list(test["source"]), list(test["target"])


def run_dates(data: Path, seed: int, verbose: int, max_epochs: int | None) -> dict:
    x_train, y_train, x_test, y_test = book_date_split(data)
    translator = Seq2SeqTranslator(random_state=seed, verbose=verbose, metric="exact")
    if max_epochs is not None:  # to see how far fewer epochs get
        translator.set_params(max_epochs=max_epochs)
    started = time.perf_counter()
    translator.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    exact = translator.score(x_test, y_test)
    return {
        "corpus": "dlfs2 date.txt",
        "train": len(x_train),
        "test": len(x_test),
        "exact_match": round(exact, 5),
        "errors": round((1 - exact) * len(x_test)),
        "epochs": len(translator.history_),
        "best_epoch": translator.best_epoch_,
        "fit_seconds": round(fit_seconds, 1),
        "predict_seconds": round(time.perf_counter() - started, 1),
        "history": translator.history_,
    }


def run_multi30k(data: Path, seed: int, verbose: int, epochs: int) -> dict:
    train, test = (
        load_dataset("multi30k", "train", data),
        load_dataset("multi30k", "test_2016_flickr", data),
    )
    x_train, y_train = list(train["source"]), list(train["target"])
    x_test, y_test = list(test["source"]), list(test["target"])
    translator = Seq2SeqTranslator(
        tokenizer="bpe",
        vocab_size=6000,
        min_frequency=2,
        embedding_dim=256,
        hidden_size=192,
        dropout=0.3,
        learning_rate=3e-3,
        batch_size=128,
        max_epochs=epochs,
        beam_size=5,
        max_output_length=80,
        random_state=seed,
        verbose=verbose,
    )
    started = time.perf_counter()
    translator.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    parameters = sum(p.numel() for p in translator.module_.parameters())
    started = time.perf_counter()
    bleu_beam = translator.score(x_test, y_test)
    beam_seconds = time.perf_counter() - started
    translator.set_params(beam_size=1)
    bleu_greedy = translator.score(x_test, y_test)
    return {
        "corpus": "multi30k de->en",
        "train": len(x_train),
        "test": "test_2016_flickr (1000)",
        "bleu_beam5": round(bleu_beam, 2),
        "bleu_greedy": round(bleu_greedy, 2),
        "parameters": parameters,
        "epochs": len(translator.history_),
        "best_epoch": translator.best_epoch_,
        "fit_seconds": round(fit_seconds, 1),
        "beam5_translate_seconds": round(beam_seconds, 1),
        "history": translator.history_,
        "example": translator.predict(x_test[:3]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--corpus", nargs="+", choices=["dates", "multi30k"], default=["dates"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=6, help="most epochs for multi30k")
    parser.add_argument(
        "--date-epochs",
        type=int,
        default=None,
        help="most epochs for dates (default: the translator's default, 10)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    results = []
    for name in args.corpus:
        if name == "dates":
            result = run_dates(args.data, args.seed, args.verbose, args.date_epochs)
        else:
            result = run_multi30k(args.data, args.seed, args.verbose, args.epochs)
        result["torch_threads"] = torch.get_num_threads()
        print(json.dumps({k: v for k, v in result.items() if k != "history"}), flush=True)
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
