"""The date task against the book it comes from, side by side in one run.

    python benchmarks/dates_vs_book.py --book PATH [--book-epochs 3] [--threads 2]

``PATH`` is a checkout of oreilly-japan/deep-learning-from-scratch-2 (the book's code,
not part of this repository). Each side runs in a fresh process:

- the book: its NumPy ``AttentionSeq2seq`` with the settings of its ``ch08/train.py``
  (reversed inputs, word vectors of 16, hidden size 256, batches of 128, Adam, gradient
  clipping at 5), trained ``--book-epochs`` epochs on its own split of ``date.txt``
  (``dataset/sequence.py``, seed 1984: 45,000 / 5,000); the seconds of each epoch's
  training, and exact match on the 5,000 held-out dates after each (the book's
  ``eval_seq2seq``, not timed);
- the library: ``Seq2SeqTranslator(max_epochs=1, metric="exact")`` on the same split
  (``load_dataset("dlfs2_date")``), timed over the whole ``fit`` (tokenizer and
  validation included), then ``score`` on the 5,000 held-out dates.

The ratio is the book's training seconds to the first epoch at the library's exact match
or higher (its total where it never gets there) over the library's fit. NumPy in the book's
process and torch in the library's use ``--threads`` threads. The record goes to
``benchmarks/results/dates-vs-book.jsonl``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import append  # noqa: E402
from explain_memory import run_child  # noqa: E402

DATA = (HERE.parent / ".." / "shared" / "data").resolve()

BOOK = """
import json, os, sys, time
os.chdir(os.path.join(BOOK, "ch08"))
sys.path[:0] = [BOOK, os.path.join(BOOK, "ch08")]
import matplotlib
matplotlib.use("Agg")
import numpy as np
from dataset import sequence
from common.optimizer import Adam
from common.trainer import Trainer
from common.util import eval_seq2seq
from attention_seq2seq import AttentionSeq2seq
import contextlib, io
(x_train, t_train), (x_test, t_test) = sequence.load_data("date.txt")
char_to_id, id_to_char = sequence.get_vocab()
x_train, x_test = x_train[:, ::-1], x_test[:, ::-1]
model = AttentionSeq2seq(len(char_to_id), 16, 256)
trainer = Trainer(model, Adam())
epochs = []
for epoch in range(EPOCHS):
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.fit(x_train, t_train, max_epoch=1, batch_size=128, max_grad=5.0)
    seconds = time.perf_counter() - started
    with contextlib.redirect_stdout(io.StringIO()):
        correct = sum(eval_seq2seq(model, x_test[[i]], t_test[[i]], id_to_char, False, True)
                      for i in range(len(x_test)))
    epochs.append({"seconds": seconds, "exact": correct / len(x_test)})
    print(json.dumps(epochs[-1]), file=sys.stderr, flush=True)
print(json.dumps({"epochs": epochs, "n_train": len(x_train), "n_test": len(x_test)}))
"""

LIBRARY = """
import json, time
import torch
torch.set_num_threads(THREADS)
from bilstm_attn import Seq2SeqTranslator
from bilstm_attn.datasets import load_dataset
train, test = (load_dataset("dlfs2_date", split, DATA) for split in ("train", "test"))
translator = Seq2SeqTranslator(max_epochs=1, metric="exact", random_state=0)
started = time.perf_counter()
translator.fit(list(train["source"]), list(train["target"]))
seconds = time.perf_counter() - started
exact = translator.score(list(test["source"]), list(test["target"]))
print(json.dumps({"seconds": seconds, "exact": exact, "n_train": len(train),
                  "n_test": len(test), "precision": translator.history_[-1]["precision"]}))
"""


def _code(template: str, **values) -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in values.items()) + template


def _book_commit(book: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(book), "rev-parse", "HEAD"], capture_output=True,
                          text=True)  # fmt: skip
    return done.stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, required=True, help="the book's code, checked out")
    parser.add_argument("--book-epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    book = args.book.resolve()
    if not (book / "ch08" / "attention_seq2seq.py").is_file():
        parser.error(f"--book {book} is not a checkout of deep-learning-from-scratch-2")
    threads = str(args.threads)
    environment = {"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
                   "MKL_NUM_THREADS": threads}  # fmt: skip
    library = run_child(_code(LIBRARY, THREADS=args.threads, DATA=str(DATA)), 3600, 16e9)
    if library["status"] != "ok":
        raise RuntimeError(f"the library: {library['status']}")
    print("library", library, flush=True)
    book_run = run_child(_code(BOOK, BOOK=str(book), EPOCHS=args.book_epochs), 7200, 16e9,
                         environment)  # fmt: skip
    if book_run["status"] != "ok":
        raise RuntimeError(f"the book's code: {book_run['status']}")
    print("book", book_run, flush=True)
    spent, reached = 0.0, None
    for number, epoch in enumerate(book_run["epochs"], start=1):
        spent += epoch["seconds"]
        if reached is None and epoch["exact"] >= library["exact"]:
            reached = {"epoch": number, "seconds": spent}
    book_seconds = reached["seconds"] if reached else spent
    figures = {
        "library": library,
        "book": {"epochs": book_run["epochs"], "reached_library_exact": reached},
        "book_over_library": book_seconds / library["seconds"],
    }
    print(f"book {book_seconds:.1f} s / library {library['seconds']:.1f} s = "
          f"{figures['book_over_library']:.2f}x")  # fmt: skip
    append("dates-vs-book", figures, threads=args.threads, book_commit=_book_commit(book),
           book_epochs=args.book_epochs)  # fmt: skip


if __name__ == "__main__":
    main()
