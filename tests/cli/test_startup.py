"""``bilstm-attn --help`` and argument errors answer without importing PyTorch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bilstm_attn import BiLSTMAttentionClassifier, Seq2SeqTranslator
from bilstm_attn.cli._classify import CLASSIFIER
from bilstm_attn.cli._translate import TRANSLATOR

HEAVY = ("torch", "sklearn", "tokenizers", "captum", "scipy")

# The command line run in a fresh interpreter; the heavy modules it imported come out.
PROBE = """
import sys
from bilstm_attn.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exit:
    status = exit.code
print("loaded:", sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY)))
print("status:", status)
"""


def _run(*argv: str) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("HEAVY", repr(HEAVY)), *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout, done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["train", "--help"],
        ["train-translator", "--help"],
        ["train"],  # the data and -o are missing
        ["predict", "model"],
        ["nonsense"],
        ["train", "data.csv", "-o", "out", "--hidden-size", "many"],
    ],
)
def test_help_and_argument_errors_import_no_torch(argv):
    out, err = _run(*argv)
    assert "loaded: []" in out, out + err
    status = int(out.split("status:")[1])
    assert status == (0 if "--help" in argv else 2)
    if status == 2:
        assert len(err.strip().splitlines()) == 1, err


def test_a_command_that_runs_imports_what_it_needs(tmp_path):
    data = tmp_path / "missing.csv"
    out, err = _run("predict", str(tmp_path), str(data), "-o", "-")
    assert "status: 2" in out and "torch" in out, out + err


@pytest.mark.parametrize(
    ("spec", "cls"),
    [(CLASSIFIER, BiLSTMAttentionClassifier), (TRANSLATOR, Seq2SeqTranslator)],
)
def test_flag_defaults_read_from_source_are_the_estimators(spec, cls):
    assert spec.load() is cls
    assert spec.defaults() == cls().get_params()
