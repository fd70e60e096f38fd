"""The one training loop that every estimator uses.

An estimator supplies three callables (the batches of an epoch, the loss of a batch, and
an optional validation pass); this module runs the epochs: gradient clipping, a tqdm bar
on a terminal (a line per epoch elsewhere) at ``verbose >= 1``, per-epoch records in
``history``, early stopping on the monitored loss through a flag, best-weights restore,
an optional moving average of the weights (validated and kept in their place), Ctrl-C
handling (stop, keep the best weights so far, warn), a loss that is not finite stopped
with :class:`~bilstm_attn.exceptions.TrainingDivergedError`, and the state between two
epochs (:class:`LoopState`) handed to a callback, from which a later call resumes.
"""

from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from bilstm_attn.exceptions import TrainingDivergedError, TrainingInterruptedWarning

__all__ = [
    "LR_SCHEDULES",
    "EarlyStopping",
    "FitOutcome",
    "LoopState",
    "ParameterAverage",
    "adamw",
    "run_epochs",
    "warmup_linear",
]


def warmup_linear(progress: float, warmup: float = 0.05) -> float:
    """The learning rate's factor at ``progress`` (the share of ``max_epochs`` trained,
    in (0, 1]): up linearly over the first ``warmup`` of training, then down linearly to
    0 at its end."""
    if progress < warmup:
        return progress / warmup
    return max(0.0, (1.0 - progress) / (1.0 - warmup))


# lr_schedule -> the learning rate's factor at a share of max_epochs trained; None keeps
# the optimizer's rate.
LR_SCHEDULES: dict[str, Callable[[float], float] | None] = {
    "constant": None,
    "warmup_linear": warmup_linear,
}


def adamw(params: Iterable[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW, fused into one kernel per step where this torch supports it.

    The fused step (CPU since torch 2.4) updates every parameter in one pass instead of
    one loop over them; older versions fall back to the plain loop.
    """
    params = list(params)
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


@dataclass
class FitOutcome:
    """How a call to :func:`run_epochs` ended.

    Attributes
    ----------
    epochs : int
        Epochs completed.
    best_epoch : int or None
        Epoch (1-based) whose weights the module holds now, when weights were restored.
    stopped_early : bool
        The monitored loss stopped improving for ``n_iter_no_change`` epochs.
    interrupted : bool
        Ctrl-C stopped training.
    """

    epochs: int
    best_epoch: int | None
    stopped_early: bool
    interrupted: bool


class EarlyStopping:
    """Watch a loss; remember the best weights; raise a flag after ``patience`` bad epochs.

    Parameters
    ----------
    patience : int or None
        Epochs without an improvement of at least ``tol`` before :attr:`should_stop`
        turns True; None never stops.
    tol : float, default=1e-4
        Smallest decrease that counts as an improvement.
    """

    def __init__(self, patience: int | None, tol: float = 1e-4) -> None:
        self.patience = patience
        self.tol = tol
        self.best_loss = float("inf")
        self.best_epoch: int | None = None
        self.best_state: dict[str, Tensor] | None = None
        self.bad_epochs = 0
        self.should_stop = False

    def update(self, module: nn.Module, loss: float, epoch: int) -> bool:
        """Record one epoch's loss; return True when it is the best so far."""
        improved = loss < self.best_loss - self.tol
        if improved or self.best_state is None:
            self.best_loss = min(loss, self.best_loss)
            self.best_epoch = epoch
            self.best_state = copy.deepcopy(module.state_dict())
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if self.patience is not None and self.bad_epochs >= self.patience:
            self.should_stop = True
        return improved

    def restore(self, module: nn.Module) -> int | None:
        """Load the best weights into ``module``; return their epoch (None if none yet)."""
        if self.best_state is not None:
            module.load_state_dict(self.best_state)
        return self.best_epoch


class ParameterAverage:
    """An exponential moving average of a module's trainable parameters.

    After each optimizer step, ``average += (1 - d) * (parameter - average)`` with
    ``d = min(decay, (1 + t) / (10 + t))`` at step ``t`` (Polyak averaging; the
    warm-up is that of TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``).
    While the warm-up term is the smaller, step ``s`` weighs about ``9 s^8 / t^9`` in
    the average at step ``t``: nearly 90% of the weight on the last fifth of the steps.
    Later the average spans about the last ``1 / (1 - decay)`` steps.

    Parameters
    ----------
    module : nn.Module
    decay : float
        In (0, 1).
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.averages = [p.detach().clone() for p in self.params]
        self.steps = 0

    @torch.no_grad()
    def update(self) -> None:
        """Move the average towards the current parameters."""
        self.steps += 1
        weight = 1.0 - min(self.decay, (1 + self.steps) / (10 + self.steps))
        for average, param in zip(self.averages, self.params):
            average.lerp_(param, weight)

    @torch.no_grad()
    def load_into(self) -> None:
        """Replace the module's parameters by their averages."""
        for average, param in zip(self.averages, self.params):
            param.copy_(average)

    @contextmanager
    def applied(self):
        """Within the block the module holds the averages; afterwards its own values."""
        with torch.no_grad():
            current = [p.detach().clone() for p in self.params]
        self.load_into()
        try:
            yield
        finally:
            with torch.no_grad():
                for saved, param in zip(current, self.params):
                    param.copy_(saved)


@dataclass
class LoopState:
    """What :func:`run_epochs` carries from one epoch to the next.

    Handed to ``on_epoch_end`` after every epoch; passing it back as ``state`` (with the
    module and optimizer as they were then) continues the run exactly where it stood.

    Attributes
    ----------
    epoch : int
        Epochs of this run completed.
    first_record : int
        ``len(history)`` when the run started (records number on from it).
    stopper : EarlyStopping
    average : ParameterAverage or None
    """

    epoch: int
    first_record: int
    stopper: EarlyStopping
    average: ParameterAverage | None


def _learning_rate(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def _diverged(
    what: str, optimizer: torch.optim.Optimizer, grad_clip: float | None
) -> TrainingDivergedError:
    rate = _learning_rate(optimizer)
    fix = f"lower learning_rate (for example to {rate / 10:g})"
    if grad_clip is None:
        fix += " or clip the gradients (for example grad_clip=1.0)"
    return TrainingDivergedError(
        f"Training diverged: {what}, with learning_rate={rate:g}. To train, {fix}."
    )


def _train_one_epoch(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable[Any],
    batch_loss: Callable[[Any], Tensor],
    grad_clip: float | None,
    progress: tqdm | None,
    average: ParameterAverage | None,
    epoch: int,
    rate: Callable[[float], float] | None = None,
) -> float:
    """One pass over ``batches``; returns the mean training loss.

    ``rate(batch)`` gives the learning rate of each batch (1-based) when given.

    Raises :class:`TrainingDivergedError` at the first loss that is not finite, before
    the optimizer steps on it.
    """
    module.train()
    total, count = 0.0, 0
    batches = list(batches)
    for number, batch in enumerate(batches, start=1):
        if rate is not None:
            for group in optimizer.param_groups:
                group["lr"] = rate(number / len(batches))
        optimizer.zero_grad(set_to_none=True)
        loss = batch_loss(batch)
        value = loss.item()
        if not math.isfinite(value):
            where = f"epoch {epoch}, batch {number} of {len(batches)}"
            raise _diverged(f"the training loss of {where} is {value}", optimizer, grad_clip)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
        optimizer.step()
        if average is not None:
            average.update()
        total += value
        count += 1
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{total / count:.4f}", refresh=False)
    if not all(bool(torch.isfinite(p).all()) for p in module.parameters()):
        raise _diverged(f"the weights after epoch {epoch} are not finite", optimizer, grad_clip)
    return total / max(count, 1)


def _epoch_line(record: dict[str, float], best: bool) -> str:
    fields = [f"epoch {record['epoch']:>3}"]
    fields += [
        f"{key} {value:.4f}"
        for key, value in record.items()
        if key not in ("epoch", "seconds") and isinstance(value, (int, float))
    ]  # the tags are said once, by the estimator
    fields.append(f"{record['seconds']:.1f}s" + ("  *" if best else ""))
    return "  ".join(fields)


def _progress(total: int, epoch: int, verbose: int) -> tqdm:
    """A tqdm bar for a terminal; none where standard error is a log or a pipe (each
    frame would be a line there; the epoch line says enough)."""
    shown = verbose >= 1 and sys.stderr is not None and sys.stderr.isatty()
    return tqdm(total=total, desc=f"epoch {epoch}", unit="batch", leave=False, disable=not shown)


@dataclass
class _Steps:
    """What :func:`run_epochs` was given to run each epoch with."""

    epoch_batches: Callable[[int], list[Any]]
    batch_loss: Callable[[Any], Tensor]
    validate: Callable[[], dict[str, float]] | None
    history: list[dict[str, float]]
    grad_clip: float | None
    monitor: Callable[[dict[str, float]], float] | None
    verbose: int
    tags: dict[str, str]
    schedule: Callable[[float], float] | None  # lr factor at a share of max_epochs
    base_rate: float  # the rate the schedule scales, set on every parameter group
    max_epochs: int


def _run_epoch(
    module: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, state: LoopState, steps: _Steps
) -> bool:
    """Train one epoch, validate, record it, update early stopping; True if it is the best."""
    started = time.perf_counter()
    batches = steps.epoch_batches(epoch)
    average = state.average
    rate = None
    if steps.schedule is not None:
        schedule, base = steps.schedule, steps.base_rate

        def rate(within: float) -> float:  # within: the share of this epoch done
            return base * schedule((epoch - 1 + within) / steps.max_epochs)

    with _progress(len(batches), epoch, steps.verbose) as progress:
        train_loss = _train_one_epoch(
            module, optimizer, batches, steps.batch_loss, steps.grad_clip, progress, average,
            epoch, rate,
        )  # fmt: skip
    record = {"epoch": state.first_record + epoch, **steps.tags, "train_loss": train_loss}
    with average.applied() if average is not None else nullcontext():
        if steps.validate is not None:
            module.eval()
            with torch.inference_mode():
                record.update(steps.validate())
        record["seconds"] = time.perf_counter() - started
        steps.history.append(record)
        if steps.monitor is not None:
            monitored = steps.monitor(record)
        else:
            monitored = record["valid_loss"] if steps.validate is not None else train_loss
        if not math.isfinite(monitored):
            what = f"the validation score after epoch {epoch} is {monitored}"
            raise _diverged(what, optimizer, steps.grad_clip)
        return state.stopper.update(module, monitored, epoch)


def run_epochs(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    epoch_batches: Callable[[int], list[Any]],
    batch_loss: Callable[[Any], Tensor],
    validate: Callable[[], dict[str, float]] | None,
    max_epochs: int,
    history: list[dict[str, float]],
    grad_clip: float | None = None,
    n_iter_no_change: int | None = None,
    monitor: Callable[[dict[str, float]], float] | None = None,
    average_decay: float | None = None,
    verbose: int = 0,
    state: LoopState | None = None,
    on_epoch_end: Callable[[LoopState], None] | None = None,
    tags: dict[str, str] | None = None,
    lr_schedule: Callable[[float], float] | None = None,
    learning_rate: float | None = None,
) -> FitOutcome:
    """Train ``module`` for up to ``max_epochs`` epochs.

    Parameters
    ----------
    module : nn.Module
    optimizer : torch.optim.Optimizer
    epoch_batches : callable
        ``epoch_batches(epoch)`` gives the list of batches for that epoch (1-based).
    batch_loss : callable
        ``batch_loss(batch)`` gives the scalar loss to minimise.
    validate : callable or None
        Called after each epoch in eval mode under ``torch.inference_mode``; returns a
        dict with at least ``"valid_loss"``. The monitored loss is the validation loss
        when given, else the training loss.
    max_epochs : int
    history : list of dict
        One record per epoch is appended: ``epoch``, the ``tags``, ``train_loss``, the
        validation metrics, ``seconds``.
    grad_clip : float or None, default=None
        Largest gradient norm.
    n_iter_no_change : int or None, default=None
        Stop after this many epochs without improvement of the monitored loss.
    monitor : callable or None, default=None
        ``monitor(record)`` gives the number to minimise from an epoch's record (for
        example ``1 - record["valid_accuracy"]``). None monitors the validation loss
        when there is a validation pass, else the training loss.
    average_decay : float or None, default=None
        When given, a :class:`ParameterAverage` with this decay follows the parameters;
        validation, the best weights kept and the weights the module ends with are the
        averaged ones.
    verbose : int, default=0
        0 prints nothing; 1 prints one line per epoch and, on a terminal, a progress bar.
    state : LoopState or None, default=None
        Resume a run from the state ``on_epoch_end`` was given (the module and optimizer
        must hold what they held then); None starts a new run.
    on_epoch_end : callable or None, default=None
        ``on_epoch_end(state)`` after every epoch, with the module holding its trained
        (not averaged) weights.
    tags : dict of str or None, default=None
        Fields that every epoch's record carries after ``epoch`` (such as the precision
        the epoch trained in).
    lr_schedule : callable or None, default=None
        ``lr_schedule(progress)``, the factor of ``learning_rate`` at each step, where
        ``progress`` is the share of ``max_epochs`` trained after that step (such as
        :func:`warmup_linear`); None leaves the optimizer's rate alone.
    learning_rate : float or None, default=None
        The rate the schedule scales (the optimizer's first group's rate when None).

    Returns
    -------
    FitOutcome
        With validation, the module ends with the weights of its best epoch. On Ctrl-C
        it ends with the best weights so far, and a :class:`TrainingInterruptedWarning`
        is issued.

    Raises
    ------
    TrainingDivergedError
        A loss, or the weights after an epoch, are not finite; the module is left as
        it is (the estimators put back the model they had before the fit).
    """
    if state is None:
        average = ParameterAverage(module, average_decay) if average_decay is not None else None
        state = LoopState(0, len(history), EarlyStopping(n_iter_no_change), average)
    base = learning_rate if learning_rate is not None else _learning_rate(optimizer)
    steps = _Steps(
        epoch_batches, batch_loss, validate, history, grad_clip, monitor, verbose,
        dict(tags or {}), lr_schedule, base, max_epochs,
    )  # fmt: skip
    stopper, average = state.stopper, state.average
    epoch = state.epoch
    try:
        while epoch < max_epochs and not stopper.should_stop:
            epoch += 1
            best = _run_epoch(module, optimizer, epoch, state, steps)
            state.epoch = epoch
            if on_epoch_end is not None:
                on_epoch_end(state)
            if verbose >= 1:
                print(_epoch_line(history[-1], best), flush=True)
    except KeyboardInterrupt:
        if average is not None:
            average.load_into()
        best_epoch = stopper.restore(module)
        module.eval()
        kept = f"the weights of epoch {best_epoch}" if best_epoch else "the current weights"
        warnings.warn(
            f"Training interrupted during epoch {epoch}; keeping {kept}. The model is usable.",
            TrainingInterruptedWarning,
            stacklevel=3,
        )
        return FitOutcome(len(history) - state.first_record, best_epoch, False, True)
    if average is not None:
        average.load_into()
    best_epoch = stopper.restore(module) if validate is not None else None
    module.eval()
    return FitOutcome(epoch, best_epoch, stopper.should_stop and epoch < max_epochs, False)
