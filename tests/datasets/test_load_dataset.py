"""load_dataset: every corpus of ../shared/data by name, and the bundled ones."""

import pandas as pd
import pytest

from bilstm_attn.datasets import data_home, list_datasets, load_dataset, make_dates, make_reviews
from bilstm_attn.exceptions import DatasetNotFoundError

ROWS = {  # from ../shared/data/MANIFEST.md
    ("imdb", "train"): 25000,
    ("imdb", "test"): 25000,
    ("sst2", "train"): 67349,
    ("sst2", "dev"): 872,
    ("nsmc", "train"): 150000,
    ("nsmc", "test"): 50000,
    ("trec", "train"): 5452,
    ("trec", "test"): 500,
    ("20newsgroups", "train"): 11314,
    ("20newsgroups", "test"): 7532,
    ("ag_news", "test"): 7600,
    ("eraser_movies", "train"): 1600,
    ("eraser_movies", "val"): 200,
    ("eraser_movies", "test"): 199,
    ("sms_spam", "all"): 5574,
    ("multi30k", "train"): 29000,
    ("multi30k", "val"): 1014,
    ("multi30k", "test_2016_flickr"): 1000,
    ("multi30k_fr", "test_2016_flickr"): 1000,
    ("dlfs2_date", "train"): 45000,
    ("dlfs2_date", "test"): 5000,
    ("dlfs2_addition", "test"): 5000,
    ("tatoeba_ko_en", "all"): 3798,
    ("korean_english_news", "dev"): 1000,
    ("korean_english_news", "test"): 2000,
}
PARALLEL = {"multi30k", "multi30k_fr", "dlfs2_date", "dlfs2_addition"}
PARALLEL |= {"tatoeba_ko_en", "korean_english_news"}


@pytest.mark.parametrize(("name", "split"), sorted(ROWS), ids="/".join)
def test_reads_every_shared_corpus_by_name(data_dir, name, split):
    frame = load_dataset(name, split, data_home=data_dir, download_if_missing=False)
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == ROWS[name, split]
    columns = ["source", "target"] if name in PARALLEL else ["text", "label"]
    assert list(frame.columns[:2]) == columns
    texts = frame[columns[0]]
    assert texts.map(type).eq(str).all()  # never NaN, even for empty reviews
    if name not in PARALLEL:
        assert frame["label"].notna().all()


def test_corpus_specifics(data_dir):
    nsmc = load_dataset("nsmc", "train", data_dir)
    assert (nsmc["text"] == "").sum() == 5  # empty reviews stay empty strings
    assert set(nsmc["label"]) == {0, 1}
    trec = load_dataset("trec", "test", data_dir)
    assert sorted(trec["label"].unique()) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert trec["label_fine"].str.split(":").str[0].eq(trec["label"]).all()
    news = load_dataset("20newsgroups", "test", data_dir)
    assert news["label"].nunique() == 20 and news["text"].str.len().max() == 160616
    ag = load_dataset("ag_news", "test", data_dir)
    assert ag["text"].iloc[0] == f"{ag['title'].iloc[0]} {ag['description'].iloc[0]}"
    dates = load_dataset("dlfs2_date", "test", data_dir)
    assert dates["target"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    assert not dates["source"].str.endswith(" ").any()  # the fixed-width padding is gone
    train = load_dataset("dlfs2_date", "train", data_dir)
    assert not set(zip(train.source, train.target)) >= set(zip(dates.source, dates.target))


def test_bundled_corpora_are_generated():
    pd.testing.assert_frame_equal(
        load_dataset("reviews", "test"), make_reviews(1000, random_state=1)
    )
    pd.testing.assert_frame_equal(load_dataset("dates"), make_dates(6000, random_state=0))


def test_list_datasets_names_everything():
    listed = list_datasets()
    assert {name for name, _ in ROWS} | {"reviews", "dates", "ag_news"} <= set(listed.index)
    assert listed.loc["imdb", "download"] and not listed.loc["eraser_movies", "download"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "imbd"}, r"name must be one of '20newsgroups', .*'imdb'.*Got 'imbd' instead"),
        ({"name": "sst2", "split": "test"}, r"split of 'sst2' must be one of 'train', 'dev'"),
        ({"name": "reviews", "split": "dev"}, r"split of 'reviews' must be one of"),
        ({"name": ["imdb"]}, r"name must be one of"),
    ],
)
def test_bad_name_or_split(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs)


def test_a_corpus_with_one_split_loads_without_naming_it(data_dir):
    spam = load_dataset("sms_spam", data_home=data_dir, download_if_missing=False)
    assert len(spam) == ROWS["sms_spam", "all"] and set(spam["label"]) == {"ham", "spam"}
    assert len(load_dataset("trec", data_home=data_dir)) == ROWS["trec", "train"]  # train


def test_absent_corpus_without_a_source_names_directory_and_files(tmp_path):
    with pytest.raises(DatasetNotFoundError) as caught:
        load_dataset("eraser_movies", "val", data_home=tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "eraser_movies") in message
    assert "expected val.csv or val.csv.gz there" in message
    assert "no official source" in message
    assert isinstance(caught.value, FileNotFoundError)


def test_data_home_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("BILSTM_ATTN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_home() == tmp_path / "cache" / "bilstm_attn"
    monkeypatch.setenv("BILSTM_ATTN_DATA", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "given") == tmp_path / "given"


def test_environment_variable_is_used(monkeypatch, data_dir):
    monkeypatch.setenv("BILSTM_ATTN_DATA", str(data_dir))
    assert len(load_dataset("trec", "test", download_if_missing=False)) == 500
