import subprocess
import sys

from bilstm_attn.cli import main


def test_demo_trains_reports_accuracy_and_highlights(capsys):
    assert (
        main(
            [
                "demo",
                "--n-train",
                "300",
                "--n-test",
                "50",
                "--max-epochs",
                "2",
                "--show",
                "2",
                "--no-color",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Test accuracy:" in out and "on 50 reviews" in out
    assert out.count("top word:") == 2 and "[" in out
    assert "\x1b[" not in out


def test_demo_colour(capsys):
    main(
        [
            "demo",
            "--n-train",
            "200",
            "--n-test",
            "20",
            "--max-epochs",
            "1",
            "--show",
            "1",
            "--color",
        ]
    )
    captured = capsys.readouterr()
    assert "\x1b[48;5;" in captured.out
    assert "epoch   1  train_loss" in captured.out  # epoch lines unless --quiet


def test_bad_arguments_exit_with_a_message():
    result = subprocess.run(
        [sys.executable, "-m", "bilstm_attn.cli", "demo", "--n-train", "0"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "--n-train must be at least 1" in result.stderr


def test_translator_demo_prints_translations_matrices_and_a_png(capsys, tmp_path):
    png = tmp_path / "attention.png"
    args = [
        "demo",
        "--translator",
        "--n-train",
        "300",
        "--n-test",
        "20",
        "--max-epochs",
        "1",
        "--show",
        "1",
        "--quiet",
        "--plot",
        str(png),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Exact match:" in out and "on 20 test dates" in out
    assert "'2019년 3월 7일' ->" in out and out.count("source: 0:") == 2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
