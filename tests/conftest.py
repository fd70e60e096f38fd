"""Shared fixtures: one torch thread, small fitted models, the real-data directory."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import make_reviews

# BILSTM_ATTN_TEST_NATIVE_BF16=1 runs the suite in this process as on a CPU with native
# bf16 units, where precision="auto" picks bf16: a test that holds only where "auto"
# picks fp32 fails here too, on any machine.
if os.environ.get("BILSTM_ATTN_TEST_NATIVE_BF16") == "1":
    import bilstm_attn._precision

    bilstm_attn._precision._cpu_has_native_bf16 = lambda: True

# Tests (and the parallel workers some of them start) use one thread each: two threads
# on a 2-core machine shared with other work run slower than one.
torch.set_num_threads(1)

DATA_DIR = Path(
    os.environ.get(
        "BILSTM_ATTN_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
)

TINY = dict(
    embedding_dim=16,
    hidden_size=16,
    min_frequency=1,
    batch_size=32,
    learning_rate=0.01,
    max_epochs=3,
    random_state=0,
    # float32 on every CPU, so that the fitted models are the same everywhere (to float32
    # rounding); tests/test_precision.py covers "auto" and "bf16".
    precision="fp32",
)


@contextlib.contextmanager
def _torch_threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def torch_threads():
    """``with torch_threads(2):`` runs a block with that many torch threads."""
    return _torch_threads


@pytest.fixture(scope="session")
def across_layouts() -> float:
    """Absolute tolerance for probabilities and attention weights (values in [0, 1]) computed
    along two paths: other batch layouts, chunk sizes, thread counts, or integration code.

    The network runs in float32 (eps 1.2e-7), and oneDNN picks other kernels for other
    shapes and other CPUs, so the same text in two batches comes out with other last bits.
    Measured: up to 6e-8 apart on a CPU without AMX (the bundled reviews; 3e-8 for a
    default-sized IMDB model), 3e-6 relative on a probability of 1e-5 on an AMX host.
    1e-5 is over a hundred times that, and still fails a real error (a wrong row, a lost
    text, a shifted word) by orders of magnitude. The same computation twice is compared
    exactly instead.
    """
    return 1e-5


@pytest.fixture(scope="session")
def tiny_params() -> dict:
    """Parameters of a model small enough to fit in about a second."""
    return dict(TINY)


@pytest.fixture(scope="session")
def reviews():
    """1200 bundled reviews: 1000 to train on, 200 to test on."""
    corpus = make_reviews(1200, random_state=0)
    return corpus.iloc[:1000].reset_index(drop=True), corpus.iloc[1000:].reset_index(drop=True)


@pytest.fixture(scope="session")
def fitted(reviews):
    """A classifier fitted once on the bundled reviews (do not mutate it in tests)."""
    train, _ = reviews
    params = {**TINY, "max_epochs": 10, "learning_rate": 0.02}
    return BiLSTMAttentionClassifier(**params).fit(train["text"], train["label"])


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real corpora, or a skip where they are absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"real corpora not found at {DATA_DIR}")
    return DATA_DIR


# ---------------------------------------------------------------------- the command line
CLI_TINY_FLAGS = [
    "--embedding-dim", "16", "--hidden-size", "16", "--min-frequency", "1",
    "--learning-rate", "0.02", "--random-state", "0", "--quiet",
]  # fmt: skip


def run_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """Run ``python -m bilstm_attn.cli ARGS`` as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "bilstm_attn.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.fixture(scope="session")
def cli():
    """``cli(*args)`` runs the bilstm-attn command in a subprocess."""
    return run_cli


@pytest.fixture(scope="session")
def tiny_flags() -> list[str]:
    """Command-line flags for a model small enough to train in seconds."""
    return list(CLI_TINY_FLAGS)
