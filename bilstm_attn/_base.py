"""Small pieces every torch-backed estimator of the library shares.

The parameters both take, device choice, seeding, the validation split, the attention
score by name and inference spread over the cores; the fit lifecycle that uses them is
in :mod:`bilstm_attn._estimator`.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from tokenizers import Tokenizer
from torch import nn

from bilstm_attn._precision import PRECISIONS
from bilstm_attn.nn import AdditiveScorer, DotScorer, GeneralScorer, ScaledDotScorer, Scorer
from bilstm_attn.training import LR_SCHEDULES

__all__ = [
    "ATTENTION_CHOICES",
    "RNN_CHOICES",
    "RNN_CLASSES",
    "SHARED_CONSTRAINTS",
    "Choices",
    "draw_seed",
    "gradient_map",
    "inference_map",
    "make_scorer",
    "resolve_device",
    "seeded",
    "validation_split",
]


class Choices(StrOptions):
    """scikit-learn's ``StrOptions`` that lists its options sorted, so that the error
    message reads the same in every run."""

    def __str__(self) -> str:
        listed = ", ".join(self._mark_if_deprecated(option) for option in sorted(self.options))
        return f"a str among {{{listed}}}"


# Stacked layers a network may have: each is built as modules, so a count in the
# millions would take hours to build before any size check could see its weights.
MAX_LAYERS = 100


def _positive_int() -> Interval:
    return Interval(Integral, 1, None, closed="left")


RNN_CLASSES: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU}
RNN_CHOICES = Choices(set(RNN_CLASSES))
ATTENTION_CHOICES = Choices({"additive", "dot", "general", "scaled_dot"})

SHARED_CONSTRAINTS: dict = {
    "tokenizer": [str, os.PathLike, Tokenizer],
    "vocab_size": [Interval(Integral, 5, None, closed="left")],
    "min_frequency": [_positive_int()],
    "lowercase": ["boolean"],
    "embedding_dim": [_positive_int()],
    "hidden_size": [_positive_int()],
    "num_layers": [Interval(Integral, 1, MAX_LAYERS, closed="both")],
    "rnn": [RNN_CHOICES],
    "attention": [ATTENTION_CHOICES],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "lr_schedule": [Choices(set(LR_SCHEDULES))],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "batch_size": [_positive_int()],
    "max_epochs": [_positive_int()],
    "grad_clip": [Interval(Real, 0, None, closed="neither"), None],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "n_iter_no_change": [_positive_int(), None],
    "warm_start": ["boolean"],
    "checkpoint_dir": [str, os.PathLike, None],
    "random_state": ["random_state"],
    "device": [Choices({"auto", "cpu", "cuda"})],
    "precision": [Choices(set(PRECISIONS))],
    "verbose": ["verbose"],
}
"""Parameters both estimators take, declared once; each adds its own."""


def resolve_device(device: str, owner: str) -> torch.device:
    """Turn the ``device`` parameter ("auto", "cpu" or "cuda") into a torch device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"The 'device' parameter of {owner} is 'cuda', but no CUDA device is available "
            f"to PyTorch here. Use device='cpu' or device='auto'."
        )
    return torch.device(device)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch for the duration of a block, leaving the caller's global RNG untouched."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def draw_seed(random_state: object) -> int:
    """One integer seed from a ``random_state`` parameter (None, int or RandomState)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def make_scorer(
    name: str, query_size: int, key_size: int, attention_size: int | None = None
) -> Scorer:
    """The score function named by a validated ``attention`` parameter.

    The only place where an attention name becomes a class; the networks receive the
    scorer ready-made. ``attention_size`` is the additive scorer's tanh layer (A; the key
    size when None); the other scores have no such layer.
    """
    if name == "dot":
        return DotScorer()
    if name == "scaled_dot":
        return ScaledDotScorer()
    if name == "general":
        return GeneralScorer(query_size, key_size)
    if name == "additive":
        return AdditiveScorer(query_size, key_size, hidden_size=attention_size or key_size)
    raise ValueError(f"unknown attention {name!r}")


def inference_map(function: Callable, items: Iterable, device: torch.device) -> Iterator:
    """``map(function, items)`` under ``torch.inference_mode``, spread over the CPU's cores.

    On CPU with ``n = torch.get_num_threads()`` above 1, the items run in ``n`` worker
    threads of one intra-op thread each (PyTorch's operators release the GIL), instead of
    one after the other with ``n`` intra-op threads each: a recurrent network's small
    matrix products do not split well across threads, whole batches do. At most ``2 n``
    items are in flight; results come back in the order of the items. Elsewhere (one
    thread, or CUDA), a plain map in the calling thread.

    While workers run, a thread that makes its first PyTorch call takes one intra-op
    thread; each worker sets the count back to ``n`` when its item is done.
    """
    return _spread(function, items, device, torch.inference_mode)


def gradient_map(function: Callable, items: Iterable, device: torch.device) -> Iterator:
    """:func:`inference_map` with autograd on (``torch.enable_grad``) instead of inference
    mode: items that each take their own gradients, such as integrated gradients over
    batches of texts, spread over one-thread workers the same way."""
    return _spread(function, items, device, torch.enable_grad)


def _spread(function: Callable, items: Iterable, device: torch.device, mode: Callable) -> Iterator:
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        with mode():
            yield from map(function, items)
        return

    def one_thread(item):
        # A thread takes its first count from a process-wide one, lazily, at its first
        # query (not at a set): query first, or a worker whose first item is running
        # when another worker's item ends takes that worker's n back, mid-item.
        torch.get_num_threads()
        torch.set_num_threads(1)  # this thread's count (OpenMP's and MKL's are per thread)
        try:
            with mode():
                return function(item)
        finally:
            torch.set_num_threads(threads)

    pending: deque[Future] = deque()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bilstm_attn-inference")
    try:
        for item in items:
            pending.append(pool.submit(one_thread, item))
            if len(pending) == 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def validation_split(
    n_samples: int, fraction: float | None, seed: int, stratify: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Training and validation indices; stratified when every class allows it.

    ``fraction=None`` gives every index to training and no validation set.
    """
    everything = np.arange(n_samples)
    if fraction is None:
        return everything, None
    n_valid = int(np.ceil(n_samples * fraction))
    if n_valid >= n_samples:
        raise ValueError(
            f"validation_fraction={fraction} leaves no text to train on with {n_samples} "
            f"texts; lower it or set it to None."
        )
    try:
        train, valid = train_test_split(
            everything, test_size=n_valid, stratify=stratify, random_state=seed
        )
    except ValueError:  # a class too small to stratify
        train, valid = train_test_split(everything, test_size=n_valid, random_state=seed)
    return train, valid
