"""Korean movie-review sentiment (NSMC) with a sub-word tokenizer, explained in the terminal.

    python examples/korean_nsmc.py [--data-home DIR] [--n-train 150000]

Korean attaches particles and endings to words (영화는, 영화가, 영화를), so whole-word
vocabularies fragment; a WordPiece tokenizer trained on the reviews shares the stems.
Explanations are still given per whitespace-separated word of the original text: the
pieces' weights are summed onto the words they came from. With the default 30,000
training reviews this takes about 2 minutes on 2 CPU cores.
"""

import argparse

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--n-train", type=int, default=30000)
    parser.add_argument("--n-test", type=int, default=10000)
    args = parser.parse_args()

    train = load_dataset("nsmc", "train", args.data_home).head(args.n_train)
    test = load_dataset("nsmc", "test", args.data_home).head(args.n_test)

    clf = BiLSTMAttentionClassifier(
        tokenizer="wordpiece", vocab_size=16000, max_length=100, max_epochs=5,
        random_state=0, verbose=1,
    )  # fmt: skip
    clf.fit(train["text"], train["label"])
    print(f"test accuracy on {len(test)} reviews: {clf.score(test['text'], test['label']):.4f}")

    reviews = [
        "연기는 좋았는데 스토리가 너무 지루했다",
        "배우들 연기 최고 다시 보고 싶은 영화",
        "돈이 아깝다",
    ]
    for explanation in clf.explain(reviews, method="occlusion"):
        label = "positive" if explanation.label == 1 else "negative"
        print(f"[{label} {explanation.proba:.2f}] {explanation.to_ansi()}")


if __name__ == "__main__":
    main()
