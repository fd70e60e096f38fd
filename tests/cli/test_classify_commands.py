"""bilstm-attn train, predict, explain and evaluate, driven as subprocesses."""

import json

import numpy as np
import pandas as pd
import pytest

import bilstm_attn
from bilstm_attn.cli import main
from bilstm_attn.datasets import make_reviews


@pytest.fixture(scope="module")
def trec_run(cli, tiny_flags, data_dir, tmp_path_factory):
    """TREC from ../shared/data: train, then predict, explain and evaluate its test CSV."""
    work = tmp_path_factory.mktemp("trec")
    train = cli(
        "train", data_dir / "trec" / "train.csv", "--label-col", "label_coarse",
        "-o", work / "model", "--max-epochs", "4", *tiny_flags,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    return work


def test_train_writes_a_loadable_model(trec_run, data_dir):
    model = bilstm_attn.load(trec_run / "model")
    assert sorted(model.classes_) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert model.hidden_size == 16 and model.max_epochs == 4


def test_predict_writes_label_and_probabilities(cli, trec_run, data_dir):
    test_csv = data_dir / "trec" / "test.csv"
    out = trec_run / "predictions.csv"
    result = cli(
        "predict", trec_run / "model", test_csv, "-o", out,
        "--keep-columns", "label_coarse", "--chunksize", "64",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Wrote 500 predictions" in result.stderr
    written = pd.read_csv(out)
    model = bilstm_attn.load(trec_run / "model")
    columns = [f"proba_{c}" for c in model.classes_]
    assert list(written.columns) == ["label_coarse", "label", *columns]
    texts = pd.read_csv(test_csv)["text"]
    np.testing.assert_allclose(written[columns], model.predict_proba(texts), rtol=1e-5, atol=1e-6)
    assert (written["label"] == model.predict(texts)).all()
    np.testing.assert_allclose(written[columns].sum(axis=1), 1, atol=1e-5)


def test_explain_writes_an_html_report(cli, trec_run, data_dir):
    report = trec_run / "report.html"
    result = cli(
        "explain", trec_run / "model", data_dir / "trec" / "test.csv", "-o", report,
        "--limit", "7", "--method", "occlusion",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("occlusion") >= 7
    assert "Denver" in page and "Aspen" in page


def test_explain_in_the_terminal(cli, trec_run):
    result = cli("explain", trec_run / "model", "--text", "Who was Galileo ?", "--no-color")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("[") and ("[Galileo]" in line or "[Who]" in line)


def test_evaluate_prints_report_and_writes_a_confusion_matrix(cli, trec_run, data_dir):
    png = trec_run / "confusion.png"
    result = cli(
        "evaluate", trec_run / "model", data_dir / "trec" / "test.csv",
        "--label-col", "label_coarse", "--confusion-matrix", png,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.split("Accuracy: ")[1].split()[0])
    assert 0.3 < accuracy <= 1
    for label in ("ABBR", "DESC", "NUM", "macro avg"):
        assert label in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------- bad input: one line, exit 2
@pytest.fixture(scope="module")
def small(tmp_path_factory, cli, tiny_flags):
    work = tmp_path_factory.mktemp("small")
    make_reviews(120, random_state=0).drop(columns="rationale").to_csv(
        work / "reviews.csv", index=False
    )
    result = cli("train", work / "reviews.csv", "-o", work / "model", "--max-epochs", "1",
                 *tiny_flags)  # fmt: skip
    assert result.returncode == 0, result.stderr
    pd.DataFrame({"text": ["good", "bad"], "label": ["positive", ""]}).to_csv(
        work / "empty_label.csv", index=False
    )
    (work / "notes.xlsx").write_bytes(b"PK")
    return work


BAD = {
    "missing data file": (
        ["train", "{w}/nothere.csv", "-o", "{w}/m"],
        "bilstm-attn train: error: no such file: '{w}/nothere.csv'",
    ),
    "missing model": (
        ["predict", "{w}/nomodel", "{w}/reviews.csv", "-o", "{w}/p.csv"],
        "bilstm-attn predict: error: no model directory at '{w}/nomodel'",
    ),
    "missing column": (
        ["train", "{w}/reviews.csv", "--label-col", "sentiment", "-o", "{w}/m"],
        "bilstm-attn train: error: '{w}/reviews.csv' has no column 'sentiment' (--label-col); "
        "its columns are 'text', 'label'",
    ),
    "empty label": (
        ["train", "{w}/empty_label.csv", "-o", "{w}/m"],
        "bilstm-attn train: error: column 'label' of '{w}/empty_label.csv' has an empty value "
        "in data row(s) 2",
    ),
    "bad value": (
        ["train", "{w}/reviews.csv", "-o", "{w}/m", "--hidden-size", "-3"],
        "bilstm-attn train: error: The 'hidden_size' parameter of BiLSTMAttentionClassifier "
        "must be an int in the range [1, inf). Got -3 instead.",
    ),
    "bad choice": (
        ["train", "{w}/reviews.csv", "-o", "{w}/m", "--attention", "bahdanau"],
        "bilstm-attn train: error: The 'attention' parameter of BiLSTMAttentionClassifier "
        "must be a str among",
    ),
    "not a number": (
        ["train", "{w}/reviews.csv", "-o", "{w}/m", "--dropout", "lots"],
        "bilstm-attn train: error: argument --dropout: invalid float value: 'lots'",
    ),
    "unknown format": (
        ["predict", "{w}/model", "{w}/notes.xlsx", "-o", "{w}/p.csv"],
        "bilstm-attn predict: error: cannot tell the format of '{w}/notes.xlsx' from its name",
    ),
    "missing output folder": (
        ["predict", "{w}/model", "{w}/reviews.csv", "-o", "{w}/no/such/dir/p.csv"],
        "bilstm-attn predict: error: cannot write '{w}/no/such/dir/p.csv': the folder",
    ),
    "bad chunk size": (
        ["predict", "{w}/model", "{w}/reviews.csv", "-o", "{w}/p.csv", "--chunksize", "0"],
        "bilstm-attn predict: error: argument --chunksize: must be at least 1, got 0",
    ),
    "explain without input": (
        ["explain", "{w}/model"],
        "bilstm-attn explain: error: give either a data file or --text",
    ),
    "translator on a classifier": (
        ["translate", "{w}/model", "--text", "x"],
        "bilstm-attn translate: error: '{w}/model' holds a BiLSTMAttentionClassifier; use "
        "`bilstm-attn predict` for it",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gives_one_line_and_exit_2(cli, small, case):
    args, message = BAD[case]
    result = cli(*[a.format(w=small) for a in args])
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(message.format(w=small)), result.stderr
    assert "Traceback" not in result.stderr


def test_single_class_file_is_a_one_line_error(small, capsys):
    pd.DataFrame({"text": ["a", "b"], "label": ["x", "x"]}).to_csv(small / "one.csv", index=False)
    assert main(["train", str(small / "one.csv"), "-o", str(small / "m1"), "--quiet"]) == 2
    assert "y has a single class ('x')" in capsys.readouterr().err


def test_corrupt_model_is_a_one_line_error(small, tmp_path, capsys):
    for path in (small / "model").iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 10)
    args = ["predict", str(tmp_path), str(small / "reviews.csv"), "-o", str(tmp_path / "p.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model.safetensors is corrupt or truncated" in err
    assert not (tmp_path / "p.csv").exists()


# ----------------------------------------------------------------- formats and chunks (in process)
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv", ".jsonl", ".jsonl.gz", ".parquet"])
def test_every_format_reads_the_same(small, tmp_path, suffix, capsys):
    frame = pd.read_csv(small / "reviews.csv").head(30)
    frame.loc[3, "text"] = ""  # an empty text stays an empty text
    path = tmp_path / f"reviews{suffix}"
    if ".csv" in suffix:
        frame.to_csv(path, index=False)
    elif ".tsv" in suffix:
        frame.to_csv(path, index=False, sep="\t")
    elif ".jsonl" in suffix:
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        pytest.importorskip("pyarrow")
        frame.to_parquet(path)
    out = tmp_path / "p.csv"
    assert main(["predict", str(small / "model"), str(path), "-o", str(out), "--quiet"]) == 0
    model = bilstm_attn.load(small / "model")
    expected = model.predict_proba(frame["text"])
    written = pd.read_csv(out)
    np.testing.assert_allclose(written.filter(like="proba_"), expected, rtol=1e-5, atol=1e-6)


def test_chunks_change_nothing(small, tmp_path):
    outputs = []
    for size in ("1", "7", "100000"):
        out = tmp_path / f"p{size}.csv"
        args = ["predict", str(small / "model"), str(small / "reviews.csv"), "-o", str(out)]
        assert main([*args, "--chunksize", size, "--quiet"]) == 0
        outputs.append(pd.read_csv(out))
    # Batches of other lengths round differently in the last float digits, nothing more.
    for other in outputs[1:]:
        assert (other["label"] == outputs[0]["label"]).all()
        np.testing.assert_allclose(other.filter(like="proba_"), outputs[0].filter(like="proba_"),
                                   atol=1e-5)  # fmt: skip
    assert len(outputs[0]) == 120


def test_missing_text_in_json_names_the_row(small, tmp_path, capsys):
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [{"text": "ok"}, {"text": None}]) + "\n")
    assert main(["predict", str(small / "model"), str(path), "-o", str(tmp_path / "p.csv")]) == 2
    assert "column 'text' of" in capsys.readouterr().err


def test_predict_to_stdout(small, capsys):
    args = ["predict", str(small / "model"), str(small / "reviews.csv"), "-o", "-", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "label,proba_negative,proba_positive"


def test_a_kept_column_named_like_an_output_is_kept_under_another_name(small, tmp_path, capsys):
    out = tmp_path / "p.csv"
    args = ["predict", str(small / "model"), str(small / "reviews.csv"), "-o", str(out)]
    assert main([*args, "--keep-columns", "label"]) == 0
    assert "'label' is written as 'label_input'" in capsys.readouterr().err
    written, read = pd.read_csv(out), pd.read_csv(small / "reviews.csv")
    assert list(written.columns[:2]) == ["label_input", "label"]
    assert (written["label_input"] == read["label"]).all()  # the gold labels, as read
    model = bilstm_attn.load(small / "model")
    assert (written["label"] == model.predict(read["text"])).all()  # the predictions


@pytest.mark.parametrize("command", ["predict", "explain", "evaluate"])
def test_a_table_with_a_header_and_no_rows(small, tmp_path, capsys, command):
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n")
    out = tmp_path / "out.csv"
    args = [command, str(small / "model"), str(empty)]
    code = main([*args, "-o", str(out), "--quiet"] if command == "predict" else args)
    err = capsys.readouterr().err
    if command == "predict":  # an empty output: the header alone
        assert code == 0 and err == ""
        assert out.read_text().splitlines() == ["label,proba_negative,proba_positive"]
    else:
        assert code == 2 and err.strip().endswith("has no data rows")
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_evaluate_names_labels_the_model_never_saw(small, tmp_path, capsys):
    path = tmp_path / "other.csv"
    pd.DataFrame({"text": ["a fine film", "a dull film"], "label": ["good", "bad"]}).to_csv(
        path, index=False
    )
    assert main(["evaluate", str(small / "model"), str(path)]) == 0
    out = capsys.readouterr().out
    assert "Labels the model never saw (always counted wrong): bad, good" in out
    assert "the model's classes are negative, positive" in out
    assert "None of the labels in" in out and "is --label-col 'label' the column" in out


def test_a_diverging_fit_is_a_one_line_error(small, tmp_path, capsys, tiny_flags):
    args = ["train", str(small / "reviews.csv"), "-o", str(tmp_path / "m"), *tiny_flags]
    diverging = ["--learning-rate", "1e37", "--grad-clip", "none", "--average-decay", "none"]
    assert main([*args, *diverging]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bilstm-attn train: error: Training diverged: the training loss")
    assert len(err.splitlines()) == 1 and not (tmp_path / "m").exists()
