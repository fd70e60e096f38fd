"""bilstm-attn train-translator and translate, driven as subprocesses."""

import pandas as pd
import pytest

import bilstm_attn
from bilstm_attn.datasets import make_dates


@pytest.fixture(scope="module")
def dates_run(cli, tmp_path_factory):
    work = tmp_path_factory.mktemp("dates")
    make_dates(300, random_state=0).to_csv(work / "train.tsv", sep="\t", index=False)
    make_dates(12, random_state=1).rename(columns={"source": "raw"}).to_csv(
        work / "test.csv", index=False
    )
    result = cli(
        "train-translator", work / "train.tsv", "-o", work / "model", "--max-epochs", "1",
        "--embedding-dim", "8", "--hidden-size", "8", "--random-state", "0", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return work


def test_translate_a_file(cli, dates_run):
    out = dates_run / "out.csv"
    result = cli(
        "translate", dates_run / "model", dates_run / "test.csv", "--source-col", "raw",
        "--keep-columns", "raw", "target", "-o", out, "--beam-size", "2", "--chunksize", "5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert list(written.columns) == ["raw", "target", "translation"] and len(written) == 12
    model = bilstm_attn.load(dates_run / "model").set_params(beam_size=2)
    assert written["translation"].tolist() == model.predict(list(written["raw"]))


def test_translate_text_with_attention(cli, dates_run):
    result = cli("translate", dates_run / "model", "--text", "march 3, 2001", "--show-attention")
    assert result.returncode == 0, result.stderr
    assert "source: 0:" in result.stdout


def test_predict_on_a_translator_says_which_command(cli, dates_run):
    result = cli("predict", dates_run / "model", dates_run / "test.csv", "-o", "-")
    assert result.returncode == 2
    assert "holds a Seq2SeqTranslator; use `bilstm-attn translate` for it" in result.stderr


def test_train_translator_missing_column(cli, dates_run):
    result = cli("train-translator", dates_run / "test.csv", "-o", dates_run / "m2")
    assert result.returncode == 2
    assert "has no column 'source' (--source-col); its columns are 'raw', 'target'" in (
        result.stderr
    )
