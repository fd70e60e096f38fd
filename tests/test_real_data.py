"""Real public corpora from ../shared/data, read in place; skipped where absent.

The quick ones run by default (small samples, small models); the ones marked ``slow``
train with default parameters on whole corpora: ``python -m pytest -m slow``.
"""

import pytest

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset

SMALL = dict(embedding_dim=32, hidden_size=32, learning_rate=3e-3, random_state=0)


def read(data_dir, name, split):
    return load_dataset(name, split, data_dir, download_if_missing=False)


@pytest.mark.parametrize("tokenizer", ["word", "unigram"])
def test_korean_nsmc_sample(data_dir, tokenizer):
    train = read(data_dir, "nsmc", "train").sample(4000, random_state=0)
    test = read(data_dir, "nsmc", "test").sample(1000, random_state=0)
    clf = BiLSTMAttentionClassifier(**SMALL, tokenizer=tokenizer, vocab_size=4000, max_epochs=4)
    clf.fit(train["text"], train["label"])  # includes empty reviews
    assert clf.score(test["text"], test["label"]) > 0.6  # chance is 0.5


def test_trec_six_string_classes(data_dir):
    train, test = read(data_dir, "trec", "train"), read(data_dir, "trec", "test")
    clf = BiLSTMAttentionClassifier(**SMALL, max_epochs=6).fit(train["text"], train["label"])
    assert list(clf.classes_) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert clf.score(test["text"], test["label"]) > 0.75  # majority class is 0.28


def tfidf_lr_accuracy(train, test) -> float:
    """The baseline of benchmarks/compare.py: TF-IDF of 1-2 grams, logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    baseline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=10, max_iter=2000),
    )
    return baseline.fit(train["text"], train["label"]).score(test["text"], test["label"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "test_split"),
    [
        ("sst2", "dev"),
        ("trec", "test"),
        ("nsmc", "test"),
        ("imdb", "test"),
        ("20newsgroups", "test"),
    ],
)
def test_defaults_beat_tfidf_and_logistic_regression(data_dir, name, test_split):
    """The whole corpus, default parameters; minutes (20 Newsgroups and IMDB: about 20)."""
    train, test = read(data_dir, name, "train"), read(data_dir, name, test_split)
    clf = BiLSTMAttentionClassifier(random_state=0).fit(train["text"], train["label"])
    assert clf.score(test["text"], test["label"]) > tfidf_lr_accuracy(train, test)


def book_date_split(data_dir):
    """date.txt with the book's split: shuffled with seed 1984, the last 10% held out."""
    train, test = (read(data_dir, "dlfs2_date", split) for split in ("train", "test"))
    return list(train["source"]), list(train["target"]), list(test["source"]), list(test["target"])


def test_book_dates_quick_sample(data_dir):
    from bilstm_attn import Seq2SeqTranslator

    x_train, y_train, x_test, y_test = book_date_split(data_dir)
    assert (len(x_train), len(x_test)) == (45000, 5000)
    tr = Seq2SeqTranslator(
        hidden_size=32,
        embedding_dim=16,
        max_epochs=3,
        learning_rate=5e-3,
        metric="exact",
        random_state=0,
    )
    tr.fit(x_train[:5000], y_train[:5000])
    assert tr.score(x_test[:300], y_test[:300]) > 0.9


@pytest.mark.slow
def test_book_dates_with_defaults(data_dir):
    from bilstm_attn import Seq2SeqTranslator

    x_train, y_train, x_test, y_test = book_date_split(data_dir)
    tr = Seq2SeqTranslator(metric="exact", random_state=0).fit(x_train, y_train)
    assert tr.score(x_test, y_test) >= 0.999
