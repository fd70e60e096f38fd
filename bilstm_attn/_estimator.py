"""The fit lifecycle both estimators share: one ``fit``, in small steps a subclass overrides.

``fit`` runs, in this order:

1. validate the parameters and resolve the device;
2. validate the data and every cross-check (``_check_fit_data``, the validation split and
   what it leaves to train on), and with ``checkpoint_dir`` read the checkpoint there and
   check that it belongs to these data and parameters, all before any fitted attribute
   is touched;
3. seed torch for the fit (the caller's global random state is left as it was);
4. initialize: ``initialize_tokenizers`` and ``initialize_module`` (through the
   estimator's ``_initialize``), or resume from the checkpoint, or keep the fitted
   model (``warm_start``);
5. train: ``initialize_optimizer``, ``get_loss(batch)`` for every training batch,
   ``validation_step(batch)`` for every validation batch, early stopping and the best
   weights (:func:`~bilstm_attn.training.run_epochs`), a checkpoint after every epoch;
6. if anything raises during 3-5 (a bad tokenizer, a diverging loss, Ctrl-C while the
   tokenizer trains), put back exactly the fitted state there was before: the previous
   model, or none. (Ctrl-C during the epochs stops training and keeps the best weights.)

The estimator supplies what makes it a classifier or a translator: ``_check_fit_data``,
``_initialize``, ``_encode_training_data``, ``_training_set``, ``get_loss``,
``validation_step`` and ``_monitor``. Inference batching (``_map_batches``) lives here too.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, InvalidParameterError

from bilstm_attn._base import (
    draw_seed,
    inference_map,
    resolve_device,
    seeded,
    validation_split,
)
from bilstm_attn._checkpoint import Checkpoint, CheckpointWriter, FitIdentity, read_checkpoint
from bilstm_attn._model_dir import MAX_PARAMETERS, MAX_VOCABULARY
from bilstm_attn._precision import autocast, resolve_precision
from bilstm_attn._tokenizer_fit import TokenizerFitting
from bilstm_attn.text import bucket_batches as _bucket_batches
from bilstm_attn.text import (
    pad_batch,
    sorted_batches,
)
from bilstm_attn.training import LR_SCHEDULES, LoopState, adamw, run_epochs

__all__ = ["TorchEstimator", "TrainingSet"]

T = TypeVar("T")


class FitData(Protocol):
    """The checked data of one fit, as an estimator's ``_check_fit_data`` returns it
    (:mod:`bilstm_attn.fit_data`)."""

    stratify: np.ndarray | None  # labels the validation split is stratified by

    def __len__(self) -> int: ...

    def check_training_split(self, train_idx: np.ndarray) -> None:
        """Refuse a training split that cannot be trained on."""

    def fingerprint(self) -> Iterable[bytes]:
        """The bytes that tell these data from others."""


class TrainingSet(Protocol):
    """The encoded training data of one fit, as an estimator's ``_training_set`` builds it."""

    lengths: np.ndarray  # (N,) pieces of each item, for batching by length

    def batch(self, index: np.ndarray) -> Any:
        """The batch of the items at ``index``, as tensors on the device of the fit."""


@dataclass
class _Run:
    """One call of ``fit``: what was checked, and what training needs."""

    data: Any
    seed: int
    device: torch.device
    train_idx: np.ndarray
    valid_idx: np.ndarray | None
    checkpoint: Checkpoint | None
    continuing: bool
    identity: FitIdentity | None  # with checkpoint_dir: what a checkpoint must match
    training: TrainingSet | None = None
    precision: str = "fp32"  # what training and validation compute in: "fp32" or "bf16"


def _precision_line(precision: str, run: _Run, bf16_on_cpu: bool) -> str:
    """What a verbose fit says of its precision."""
    where = "this CPU" if run.device.type == "cpu" else f"this {run.device.type} device"
    line = f"training in {run.precision}"
    if precision == "auto" and run.device.type == "cpu" and not bf16_on_cpu:
        line += " (precision='auto': fp32 on a CPU for this estimator)"
    elif precision == "auto":
        has = "has" if run.precision == "bf16" else "has no"
        line += f" (precision='auto': {where} {has} native bf16 units)"
    return line


def _is_fitted_name(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


class _FittedState:
    """The fitted attributes an estimator had before a fit, to put back if it fails.

    A fresh fit builds new objects, so references suffice; a warm start trains the
    network in place, so its weights and history are copied too.
    """

    def __init__(self, estimator: TorchEstimator, continuing: bool) -> None:
        self.attributes = {k: v for k, v in vars(estimator).items() if _is_fitted_name(k)}
        self.weights = None
        if continuing:
            self.weights = copy.deepcopy(estimator.module_.state_dict())
            self.history = list(estimator.history_)

    def restore(self, estimator: TorchEstimator) -> None:
        estimator._forget_fit()
        for name, value in self.attributes.items():
            setattr(estimator, name, value)
        if self.weights is not None:
            estimator.module_.load_state_dict(self.weights)
            estimator.module_.to(estimator.device_).eval()
            estimator.history_[:] = self.history


class TorchEstimator(TokenizerFitting):
    """The fit lifecycle, inference batching and pickling of the torch-backed estimators."""

    # Whether precision="auto" may pick bf16 on a CPU with native bf16 units.
    _AUTO_BF16_ON_CPU = True

    # ----------------------------------------------------------------- the lifecycle
    def _validate_params(self) -> None:
        """scikit-learn's check of the parameters against ``_parameter_constraints``, and
        no bool where a number is wanted (a bool is an int to Python: True layers)."""
        super()._validate_params()  # type: ignore[misc]
        for name, constraints in self._parameter_constraints.items():  # type: ignore[attr-defined]
            value = getattr(self, name)
            numeric = [c for c in constraints if isinstance(c, Interval)]
            if isinstance(value, (bool, np.bool_)) and numeric and "boolean" not in constraints:
                allowed = " or ".join(str(c) for c in numeric)
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be {allowed}. "
                    f"Got {value!r} instead."
                )

    def _fit(self, X, y, **fit_params):
        """Everything ``fit`` does, in the order of the module docstring."""
        self._validate_params()
        device = resolve_device(self.device, type(self).__name__)
        continuing = bool(self.warm_start) and hasattr(self, "module_")
        if continuing and self.checkpoint_dir is not None:
            raise ValueError(
                f"{type(self).__name__} has warm_start=True and is fitted, so fit continues "
                f"the model in memory, but checkpoint_dir={os.fspath(self.checkpoint_dir)!r} "
                f"asks to resume from a checkpoint. Set one of them: checkpoint_dir=None, or "
                f"warm_start=False."
            )
        data = self._check_fit_data(X, y, continuing=continuing, **fit_params)
        checkpoint = identity = None
        if self.checkpoint_dir is not None:
            identity = FitIdentity.of(self, data.fingerprint())
            checkpoint = read_checkpoint(self, self.checkpoint_dir, identity)
        seed = checkpoint.seed if checkpoint is not None else draw_seed(self.random_state)
        train_idx, valid_idx = validation_split(
            len(data), self.validation_fraction, seed, stratify=data.stratify
        )
        data.check_training_split(train_idx)
        run = _Run(data, seed, device, train_idx, valid_idx, checkpoint, continuing, identity)
        before = _FittedState(self, continuing)
        try:
            with seeded(seed, device):
                self._start(run)
                self._train(run)
        except BaseException:
            before.restore(self)
            raise
        return self

    def _start(self, run: _Run) -> None:
        """Step 4: a new model, the checkpoint's, or the fitted one; then the data encoded."""
        self.device_ = run.device
        run.precision = resolve_precision(self.precision, run.device, self._AUTO_BF16_ON_CPU)
        if run.continuing:
            encoded = self._encode_training_data(run.data)
        elif run.checkpoint is not None:
            run.checkpoint.restore_fitted(self)
            encoded = self._encode_training_data(run.data)
        else:
            self.history_: list[dict[str, float]] = []
            self.best_epoch_ = None
            encoded = self._initialize(run.data, run.seed)
        self.module_.to(run.device)
        run.training = self._training_set(run.data, encoded, run.train_idx)

    def _train(self, run: _Run) -> None:
        """Step 5: the epochs, resumed from the checkpoint when there is one."""
        rng = np.random.default_rng(run.seed)  # the order of the training batches
        optimizer = self.initialize_optimizer()
        state = None
        if run.checkpoint is not None:
            state = run.checkpoint.restore_training(self.module_, optimizer, rng, run.device)
        writer = None
        if self.checkpoint_dir is not None:
            writer = CheckpointWriter(self, self.checkpoint_dir, run.identity)
        validate = None if run.valid_idx is None else (lambda: self._validate(run))

        def batch_loss(index: np.ndarray) -> torch.Tensor:
            batch = run.training.batch(index)
            with autocast(run.precision, run.device):  # the backward pass runs outside
                return self.get_loss(batch)

        if self.verbose >= 1:
            said = _precision_line(self.precision, run, self._AUTO_BF16_ON_CPU)
            print(f"{type(self).__name__}: {said}", flush=True)

        def on_epoch_end(loop: LoopState) -> None:
            if writer is not None:
                writer.write(run.seed, loop, self.module_, optimizer, rng, run.device)

        outcome = run_epochs(
            self.module_,
            optimizer,
            epoch_batches=lambda epoch: self._epoch_batches(run, rng),
            batch_loss=batch_loss,
            validate=validate,
            max_epochs=self.max_epochs,
            history=self.history_,
            grad_clip=self.grad_clip,
            n_iter_no_change=self.n_iter_no_change,
            monitor=self._monitor if validate is not None else None,
            average_decay=getattr(self, "average_decay", None),
            verbose=self.verbose,
            state=state,
            on_epoch_end=on_epoch_end,
            tags={"precision": run.precision},
            lr_schedule=LR_SCHEDULES[self.lr_schedule],
            learning_rate=self.learning_rate,
        )
        self.best_epoch_ = outcome.best_epoch

    def _epoch_batches(self, run: _Run, rng: np.random.Generator) -> list[np.ndarray]:
        """One epoch's training batches: texts of similar length, in a shuffled order."""
        lengths = run.training.lengths[run.train_idx]
        return [run.train_idx[b] for b in _bucket_batches(lengths, self.batch_size, rng)]

    def _validate(self, run: _Run) -> dict[str, float]:
        """``valid_<name>`` for each sum ``validation_step`` returns, divided by ``count``."""
        index = run.valid_idx
        batches = (index[b] for b in self._inference_batches(run.training.lengths[index]))

        def step(batch: np.ndarray) -> dict[str, float]:
            with autocast(run.precision, run.device):  # in the worker that runs it
                return self.validation_step(run.training.batch(batch))

        totals: dict[str, float] = {}
        for sums in inference_map(step, batches, run.device):
            for name, value in sums.items():
                totals[name] = totals.get(name, 0) + value
        if "count" not in totals:
            raise ValueError(
                f"validation_step of {type(self).__name__} returned {sorted(totals)}, without "
                f"the 'count' its sums are divided by; return it too."
            )
        count = max(totals.pop("count"), 1)
        return {f"valid_{name}": value / count for name, value in totals.items()}

    # ----------------------------------------------------------------- steps to override
    def _check_fit_data(self, X, y, *, continuing: bool, **fit_params) -> FitData:
        """Validate what ``fit`` was given, before anything changes."""
        raise NotImplementedError

    def _monitor(self, record: dict[str, float]) -> float:
        """The number early stopping minimises, from an epoch's record."""
        return record["valid_loss"]

    def initialize_optimizer(self) -> torch.optim.Optimizer:
        """AdamW over the trainable parameters of ``module_``."""
        params = [p for p in self.module_.parameters() if p.requires_grad]
        return adamw(params, self.learning_rate, self.weight_decay)

    # ----------------------------------------------------------------- inference
    def _inference_batches(self, lengths: np.ndarray) -> list[np.ndarray]:
        """Batches for validation and prediction: length-sorted, of at most
        ``batch_size * 192`` padded pieces.

        Larger batches of long texts make tensors too large for the allocator to reuse
        (their memory comes back page by page from the system); smaller ones pay more
        per-batch overhead (``benchmarks/NOTES.md``, speed work).
        """
        return sorted_batches(lengths, self.batch_size * 192)

    def _map_batches(
        self,
        chunks: Iterable[tuple[np.ndarray, list[np.ndarray]]],
        run: Callable[[torch.Tensor, torch.Tensor], T],
        pad: int,
        precision: str = "fp32",
    ) -> Iterator[tuple[np.ndarray, T]]:
        """``run(ids, lengths)`` over batches of id sequences, on every core, computing
        in ``precision`` (``"fp32"`` or ``"bf16"``, see :meth:`_prediction_precision`).

        ``chunks`` yields ``(index, sequences)`` as :func:`~bilstm_attn.text.encode_ahead`
        does: the positions of the sequences among all, and the sequences. Each chunk is
        cut into ``_inference_batches``; yields, batch by batch in the order of the
        chunks, the positions of the batch's sequences and ``run(ids, lengths)`` (padded
        with ``pad``, on ``device_``). On CPU the batches run on every core at once
        (:func:`~bilstm_attn._base.inference_map`) and ``run`` runs in the worker that
        runs the batch, so it should read its outputs there: a tensor operation in the
        waiting thread, while the workers hold every core, waits for a time slice for its
        own intra-op threads.
        """

        def batches() -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
            for index, sequences in chunks:
                lengths = np.fromiter(map(len, sequences), np.int64, len(sequences))
                for batch in self._inference_batches(lengths):
                    yield index[batch], [sequences[i] for i in batch]

        def one(item: tuple[np.ndarray, list[np.ndarray]]) -> tuple[np.ndarray, T]:
            positions, sequences = item
            ids, lengths = pad_batch(sequences, pad)  # (B, S), (B,)
            with autocast(precision, self.device_):  # autocast is per thread
                return positions, run(ids.to(self.device_), lengths.to(self.device_))

        return inference_map(one, batches(), self.device_)

    def _prediction_precision(self) -> str:
        """What prediction computes in on ``device_``: the ``precision`` parameter
        resolved for this machine (a model fitted elsewhere follows this one)."""
        return resolve_precision(self.precision, self.device_, self._AUTO_BF16_ON_CPU)

    @staticmethod
    def _rows(batches: Iterable[tuple[np.ndarray, torch.Tensor]]) -> np.ndarray:
        """The rows of each batch's tensor (as ``_map_batches`` yields them) in one float64
        array, row ``i`` for sequence ``i``."""
        found = [(positions, values.cpu().numpy()) for positions, values in batches]
        n = sum(len(positions) for positions, _ in found)
        result = np.empty((n, found[0][1].shape[1]), dtype=np.float64)
        for positions, values in found:
            result[positions] = values
        return result

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.string = True  # raw texts in
        tags.input_tags.two_d_array = False
        return tags

    def _planned_module(self) -> torch.nn.Module:
        """The network the parameters and fitted tokenizers describe, built on the meta
        device (no memory), checked to have at most ``MAX_PARAMETERS`` weights and
        tokenizers of at most ``MAX_VOCABULARY`` pieces (what ``load`` accepts)."""
        lower = "lower hidden_size, embedding_dim, attention_heads or vocab_size"
        for attribute in dict.fromkeys(self._TOKENIZER_PARAMS.values()):  # type: ignore[attr-defined]
            pieces = getattr(self, attribute).get_vocab_size(with_added_tokens=True)
            if pieces > MAX_VOCABULARY:
                raise ValueError(
                    f"{type(self).__name__}'s tokenizer has {pieces:,} pieces, more than the "
                    f"{MAX_VOCABULARY:,} a saved model may have; lower vocab_size."
                )
        try:
            with torch.device("meta"):
                planned = self._loaded_module()  # type: ignore[attr-defined]
        except (RuntimeError, TypeError, OverflowError) as error:  # sizes past int64
            first = (str(error).strip().splitlines() or [""])[0]
            raise ValueError(
                f"The parameters of {type(self).__name__} describe a network that cannot "
                f"be built ({first}); {lower}."
            ) from None
        count = sum(int(np.prod(t.shape, dtype=np.float64)) for t in planned.state_dict().values())
        if count > MAX_PARAMETERS:
            raise ValueError(
                f"The parameters of {type(self).__name__} describe a network of {count:,} "
                f"weights, more than the {MAX_PARAMETERS:,} a model may have; {lower}."
            )
        return planned

    # ----------------------------------------------------------------- state
    def _forget_fit(self) -> None:
        """Remove every fitted attribute."""
        for name in [key for key in vars(self) if _is_fitted_name(key)]:
            delattr(self, name)

    def __getstate__(self) -> dict:
        state = super().__getstate__()  # type: ignore[misc]
        module = state.get("module_")
        if module is not None and any(p.device.type != "cpu" for p in module.parameters()):
            state["module_"] = copy.deepcopy(module).cpu()
            state["device_"] = torch.device("cpu")
        return state
