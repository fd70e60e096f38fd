"""German -> English on Multi30k with Seq2SeqTranslator, scored by BLEU on test_2016_flickr.

    python examples/multi30k_de_en.py [--data ../shared/data] [--epochs 6]

Reads the raw Multi30k files (``multi30k/{train,test_2016_flickr}.{de,en}.gz``) in place,
trains a BPE sub-word model with early stopping, and reports sacrebleu BLEU with greedy
and beam search. About 20 minutes on 2 CPU cores; ``benchmarks/RESULTS.md`` has the
figures.
"""

import argparse
import gzip
import time
from pathlib import Path

from bilstm_attn import Seq2SeqTranslator


def read_lines(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    folder = args.data / "multi30k"
    src_train, tgt_train = read_lines(folder / "train.de.gz"), read_lines(folder / "train.en.gz")
    src_test = read_lines(folder / "test_2016_flickr.de.gz")
    tgt_test = read_lines(folder / "test_2016_flickr.en.gz")

    translator = Seq2SeqTranslator(
        tokenizer="bpe",
        vocab_size=6000,
        min_frequency=2,
        embedding_dim=256,
        hidden_size=192,
        dropout=0.3,
        learning_rate=3e-3,
        batch_size=128,
        max_epochs=args.epochs,
        max_output_length=80,
        random_state=0,
        verbose=1,
    )
    started = time.perf_counter()
    translator.fit(src_train, tgt_train)
    print(f"trained {len(translator.history_)} epochs in {time.perf_counter() - started:.0f}s")

    print(f"test_2016_flickr BLEU, greedy: {translator.score(src_test, tgt_test):.2f}")
    translator.set_params(beam_size=5)
    print(f"test_2016_flickr BLEU, beam 5: {translator.score(src_test, tgt_test):.2f}")
    for source, reference in zip(src_test[:3], tgt_test[:3]):
        print(f"\n  de: {source}\n  en: {translator.predict([source])[0]}\n ref: {reference}")


if __name__ == "__main__":
    main()
