import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from bilstm_attn.datasets import REVIEW_CUES, make_reviews

BUNDLED = Path(__file__).resolve().parents[2] / "datasets" / "reviews"


def test_same_seed_same_corpus():
    pd.testing.assert_frame_equal(
        make_reviews(50, random_state=3), make_reviews(50, random_state=3)
    )
    assert not make_reviews(50, random_state=3).equals(make_reviews(50, random_state=4))


def test_labels_are_balanced_and_rationales_point_at_deciding_words():
    corpus = make_reviews(400, random_state=0)
    assert corpus["label"].value_counts().to_dict() == {"positive": 200, "negative": 200}
    cues = {polarity: set(words) for polarity, words in REVIEW_CUES.items()}
    flipped = {"positive": "negative", "negative": "positive"}
    for row in corpus.itertuples():
        words = row.text.split()
        deciding = [words[i].strip(".,!").lower() for i in row.rationale]
        assert deciding, row.text
        for position, word in enumerate(deciding):
            if word == "not":
                assert deciding[position + 1] in cues[flipped[row.label]]
            elif position == 0 or deciding[position - 1] != "not":
                assert word in cues[row.label]
        # no sentiment word appears outside the rationale
        others = {w.strip(".,!").lower() for i, w in enumerate(words) if i not in row.rationale}
        assert not others & (cues["positive"] | cues["negative"])


def test_bad_size():
    with pytest.raises(ValueError, match="n_samples must be a positive int; got 0"):
        make_reviews(0)


@pytest.mark.parametrize("split", ["train", "test"])
def test_bundled_files_are_what_the_generator_makes(split):
    spec = importlib.util.spec_from_file_location(
        "make_corpora", BUNDLED.parent / "make_corpora.py"
    )
    make_corpora = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_corpora)
    REVIEW_SPLITS, review_split = make_corpora.REVIEW_SPLITS, make_corpora.review_split
    on_disk = pd.read_csv(BUNDLED / f"{split}.csv.gz", keep_default_na=False)
    generated = review_split(split)
    assert len(on_disk) == REVIEW_SPLITS[split][0]
    assert on_disk["text"].tolist() == generated["text"].tolist()
    assert on_disk["label"].tolist() == generated["label"].tolist()
    assert on_disk["rationale"].tolist() == [" ".join(map(str, r)) for r in generated["rationale"]]


def load_make_corpora():
    spec = importlib.util.spec_from_file_location(
        "make_corpora", BUNDLED.parent / "make_corpora.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("split", ["train", "test"])
def test_bundled_date_files_are_what_the_generator_makes(split):
    make_corpora = load_make_corpora()
    on_disk = pd.read_csv(
        BUNDLED.parent / "dates" / f"{split}.csv.gz", keep_default_na=False, dtype=str
    )
    pd.testing.assert_frame_equal(on_disk, make_corpora.date_split(split), check_dtype=False)


def test_dates_are_right():
    import datetime as dt

    from bilstm_attn.datasets import make_dates

    corpus = make_dates(3000, random_state=5)
    months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    for source, target in zip(corpus["source"], corpus["target"]):
        date = dt.date.fromisoformat(target)
        lowered = source.lower()
        assert str(date.day) in lowered
        if any(m in lowered for m in months):
            assert months[date.month - 1] in lowered
        if "년" in source:
            assert source.startswith(f"{date.year}년 {date.month}월 {date.day}일")
    assert corpus["source"].str.contains("년").any()
    assert corpus["source"].str.isupper().any() and corpus["source"].str.istitle().any()
    assert corpus["source"].nunique() > 2900
