"""Helpers to drive ``bilstm-attn`` as a subprocess, as a user's shell would."""

import subprocess
import sys

import pytest

TINY_FLAGS = [
    "--embedding-dim", "16", "--hidden-size", "16", "--min-frequency", "1",
    "--learning-rate", "0.02", "--random-state", "0", "--quiet",
]  # fmt: skip


def run_cli(*args, cwd=None):
    """Run ``python -m bilstm_attn.cli ARGS``; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "bilstm_attn.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.fixture(scope="session")
def tiny_flags():
    return list(TINY_FLAGS)
