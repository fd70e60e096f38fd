"""German -> English on Multi30k with Seq2SeqTranslator, scored by BLEU on test_2016_flickr.

    python examples/multi30k_de_en.py [--data-home ../shared/data] [--epochs 6]

Loads Multi30k with ``load_dataset("multi30k")`` (the raw ``{split}.{de,en}.gz`` files,
downloaded once where absent), trains a BPE sub-word model with early stopping, and
reports sacrebleu BLEU with greedy and beam search. About 20 minutes on 2 CPU cores;
``benchmarks/RESULTS.md`` has the figures.
"""

import argparse
import time

from bilstm_attn import Seq2SeqTranslator
from bilstm_attn.datasets import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None, help="folder holding multi30k/")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    train = load_dataset("multi30k", "train", args.data_home)
    test = load_dataset("multi30k", "test_2016_flickr", args.data_home)
    src_train, tgt_train = list(train["source"]), list(train["target"])
    src_test, tgt_test = list(test["source"]), list(test["target"])

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
