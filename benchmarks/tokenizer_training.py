"""What the deterministic BPE and WordPiece vocabularies cost, beside HF's own trainers.

    python benchmarks/tokenizer_training.py [--corpora imdb nsmc] [--repeats 2]

For each corpus (its whole training split) and each of ``"bpe"`` and ``"wordpiece"``,
side by side in one run and alternating: ``text.build_tokenizer`` (the library's
learner, :mod:`bilstm_attn.subword`) and HF ``tokenizers``' ``BpeTrainer`` /
``WordPieceTrainer`` with the same normalizer, pre-tokenizer and options (what
``build_tokenizer`` ran before it learnt the vocabularies itself). Seconds are the fastest
of ``--repeats``; the overlap is the share of HF's pieces the library's vocabulary holds
too (they differ only where merges of equal count are ranked by HF's hash-map order).
Writes ``benchmarks/results/tokenizer-training.json`` for ``report.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from versions import machine  # benchmarks/versions.py

from bilstm_attn.datasets import load_dataset
from bilstm_attn.text import PAD_TOKEN, UNK_TOKEN, build_tokenizer

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / ".." / "shared" / "data"
OPTIONS = {"vocab_size": 60000, "min_frequency": 2}


def hf_trained(kind: str, texts: list[str]) -> Tokenizer:
    """The tokenizer HF's own trainer makes with build_tokenizer's settings."""
    model = models.BPE(unk_token=UNK_TOKEN, continuing_subword_prefix="##")
    if kind == "wordpiece":
        model = models.WordPiece(unk_token=UNK_TOKEN)
    tokenizer = Tokenizer(model)
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer_cls = trainers.BpeTrainer if kind == "bpe" else trainers.WordPieceTrainer
    trainer = trainer_cls(
        **OPTIONS,
        special_tokens=[PAD_TOKEN, UNK_TOKEN],
        show_progress=False,
        continuing_subword_prefix="##",
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tokenizer


def fastest(make, repeats: int) -> tuple[float, Tokenizer]:
    best, made = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        made = make()
        best = min(best, time.perf_counter() - started)
    return best, made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", default=["imdb", "nsmc"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-home", default=DATA)
    args = parser.parse_args()
    rows = []
    for name in args.corpora:
        texts = load_dataset(name, "train", args.data_home, download_if_missing=False)["text"]
        texts = texts.tolist()
        for kind in ("bpe", "wordpiece"):
            hf_seconds, hf = fastest(
                lambda kind=kind, texts=texts: hf_trained(kind, texts), args.repeats
            )
            ours_seconds, ours = fastest(
                lambda kind=kind, texts=texts: build_tokenizer(kind, texts, **OPTIONS),
                args.repeats,
            )
            theirs = set(hf.get_vocab())
            rows.append(
                {
                    "corpus": name,
                    "texts": len(texts),
                    "kind": kind,
                    "hf_seconds": hf_seconds,
                    "ours_seconds": ours_seconds,
                    "hf_pieces": len(theirs),
                    "ours_pieces": ours.get_vocab_size(),
                    "overlap": len(theirs & set(ours.get_vocab())) / len(theirs),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    record = {
        "benchmark": "tokenizer_training",
        "command": "python benchmarks/tokenizer_training.py --corpora "
        + " ".join(args.corpora)
        + f" --repeats {args.repeats}",
        "machine": machine(),
        "options": OPTIONS,
        "rows": rows,
    }
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / "tokenizer-training.json"
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
