"""Real public corpora from ../shared/data, read in place; skipped where absent.

The quick ones run by default (small samples, small models); the ones marked ``slow``
train with default parameters on whole corpora: ``python -m pytest -m slow``.
"""

import pandas as pd
import pytest

from bilstm_attn import BiLSTMAttentionClassifier

SMALL = dict(embedding_dim=32, hidden_size=32, learning_rate=3e-3, random_state=0)


def read(data_dir, name, split):
    for suffix in (".csv", ".csv.gz"):
        path = data_dir / name / f"{split}{suffix}"
        if path.exists():
            return pd.read_csv(path, keep_default_na=False)
    pytest.skip(f"{name}/{split} not found under {data_dir}")


@pytest.mark.parametrize("tokenizer", ["word", "unigram"])
def test_korean_nsmc_sample(data_dir, tokenizer):
    train = read(data_dir, "nsmc", "train").sample(4000, random_state=0)
    test = read(data_dir, "nsmc", "test").sample(1000, random_state=0)
    clf = BiLSTMAttentionClassifier(**SMALL, tokenizer=tokenizer, vocab_size=4000, max_epochs=4)
    clf.fit(train["text"], train["label"])  # includes empty reviews
    assert clf.score(test["text"], test["label"]) > 0.6  # chance is 0.5


def test_trec_six_string_classes(data_dir):
    train, test = read(data_dir, "trec", "train"), read(data_dir, "trec", "test")
    clf = BiLSTMAttentionClassifier(**SMALL, max_epochs=6).fit(train["text"], train["label_coarse"])
    assert list(clf.classes_) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert clf.score(test["text"], test["label_coarse"]) > 0.75  # majority class is 0.28


@pytest.mark.slow
def test_sst2_with_defaults(data_dir):
    train, dev = read(data_dir, "sst2", "train"), read(data_dir, "sst2", "dev")
    clf = BiLSTMAttentionClassifier(random_state=0).fit(train["text"], train["label"])
    assert clf.score(dev["text"], dev["label"]) > 0.82


@pytest.mark.slow
def test_imdb_with_defaults(data_dir):
    train, test = read(data_dir, "imdb", "train"), read(data_dir, "imdb", "test")
    clf = BiLSTMAttentionClassifier(random_state=0).fit(train["text"], train["label"])
    assert clf.score(test["text"], test["label"]) > 0.85
