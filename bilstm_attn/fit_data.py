"""What the data of a fit becomes on its way to the network, for both estimators.

``fit`` checks what it was given into :class:`LabelledTexts` (classifier) or
:class:`TextPairs` (translator), encodes them into :class:`EncodedTexts` or
:class:`EncodedPairs` (the lifecycle's training set: the lengths it batches by, and
``batch(index)``), and hands :class:`ClassifierBatch` or :class:`TranslationBatch` to
``get_loss`` and ``validation_step``, which a subclass may override.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from bilstm_attn._validation import (
    check_labels,
    check_sample_weight,
    check_texts,
    class_weights,
    encode_labels,
    sorted_classes,
)
from bilstm_attn.text import pad_batch

__all__ = [
    "ClassifierBatch",
    "EncodedPairs",
    "EncodedTexts",
    "LabelledTexts",
    "TextPairs",
    "TranslationBatch",
]


@dataclass
class ClassifierBatch:
    """One batch of training or validation texts, as ``get_loss`` and ``validation_step``
    receive it (tensors on the device of the fit).

    Attributes
    ----------
    ids : Tensor of shape (B, S), long
        Token ids, right-padded with the tokenizer's ``[PAD]``.
    lengths : Tensor of shape (B,), long
        Pieces of each text.
    targets : Tensor of shape (B,), long
        Position of each label in ``classes_``.
    weights : Tensor of shape (B,)
        ``sample_weight`` times ``class_weight``, scaled to a mean of 1 over the texts
        trained on.
    """

    ids: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor
    weights: torch.Tensor


@dataclass
class LabelledTexts:
    """The checked training data of a classifier's fit."""

    texts: list[str]
    classes: np.ndarray
    targets: np.ndarray  # (N,) positions in classes
    weights: np.ndarray  # (N,) sample_weight times class_weight

    @classmethod
    def check(cls, X, y, sample_weight, class_weight, classes=None) -> LabelledTexts:
        """Validate ``fit``'s arguments; ``classes`` are the fitted ones, on a warm start."""
        texts = check_texts(X, "X")
        labels = check_labels(y, len(texts), "y")
        weights = check_sample_weight(sample_weight, len(texts))
        classes = sorted_classes(labels) if classes is None else classes
        if len(classes) < 2:
            raise ValueError(
                f"y has a single class ({classes[0]!r}); a classifier needs labels of at "
                f"least 2 classes."
            )
        targets = encode_labels(labels, classes)
        weights = weights * class_weights(class_weight, classes, targets)[targets]
        return cls(texts, classes, targets, weights)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def stratify(self) -> np.ndarray:
        """What the validation split is stratified by."""
        return self.targets

    def check_training_split(self, train_idx: np.ndarray) -> None:
        if self.weights[train_idx].sum() <= 0:
            raise ValueError(
                "sample_weight and class_weight leave every training text with weight 0; "
                "give some texts a positive weight."
            )

    def fingerprint(self) -> Iterator[bytes]:
        """The bytes that tell these data from others (a checkpoint belongs to them)."""
        yield from (text.encode("utf-8", "surrogatepass") for text in self.texts)
        yield repr(self.classes.tolist()).encode()
        yield self.targets.astype("<i8").tobytes()
        yield self.weights.astype("<f8").tobytes()

    def encoded(
        self, sequences: list[np.ndarray], train_idx: np.ndarray, pad: int, device: torch.device
    ) -> EncodedTexts:
        """The training set over ``sequences``, the texts' ids; the weights scaled to a
        mean of 1 over the texts trained on."""
        lengths = np.fromiter(map(len, sequences), np.int64, len(sequences))
        weights = torch.from_numpy(self.weights / self.weights[train_idx].mean()).float()
        targets = torch.from_numpy(self.targets)
        return EncodedTexts(sequences, lengths, targets.to(device), weights.to(device), pad)


@dataclass
class EncodedTexts:
    """The training data encoded: what batches are cut from."""

    sequences: list[np.ndarray]
    lengths: np.ndarray
    targets: torch.Tensor  # (N,) on the device of the fit
    weights: torch.Tensor  # (N,)
    pad: int

    def batch(self, index: np.ndarray) -> ClassifierBatch:
        ids, lengths = pad_batch([self.sequences[i] for i in index], self.pad)  # (B, S), (B,)
        device = self.targets.device
        return ClassifierBatch(
            ids.to(device), lengths.to(device), self.targets[index], self.weights[index]
        )


@dataclass
class TranslationBatch:
    """One batch of training or validation pairs, as ``get_loss`` and ``validation_step``
    receive it (tensors on the device of the fit).

    Attributes
    ----------
    source_ids : Tensor of shape (B, S), long
        Source ids, right-padded with the source tokenizer's ``[PAD]``.
    source_lengths : Tensor of shape (B,), long
    target_ids : Tensor of shape (B, T + 1), long
        ``[BOS]``, the target ids, ``[EOS]``, right-padded with the target ``[PAD]``.
    target_pad : int
        The target ``[PAD]`` id.
    """

    source_ids: torch.Tensor
    source_lengths: torch.Tensor
    target_ids: torch.Tensor
    target_pad: int


@dataclass
class TextPairs:
    """The checked training pairs of a translator's fit."""

    sources: list[str]
    targets: list[str]

    @classmethod
    def check(cls, X, y) -> TextPairs:
        """Validate ``fit``'s arguments."""
        sources, targets = check_texts(X, "X"), check_texts(y, "y")
        if len(sources) != len(targets):
            raise ValueError(
                f"X has {len(sources)} source texts but y has {len(targets)} target texts; "
                f"they must pair up one to one."
            )
        return cls(sources, targets)

    def __len__(self) -> int:
        return len(self.sources)

    stratify = None  # the validation split is a plain random one

    def check_training_split(self, train_idx: np.ndarray) -> None:
        """Any split with a pair to train on can be trained on."""

    def fingerprint(self) -> Iterator[bytes]:
        """The bytes that tell these pairs from others (a checkpoint belongs to them)."""
        for text in [*self.sources, "\x00", *self.targets]:
            yield text.encode("utf-8", "surrogatepass")


@dataclass
class EncodedPairs:
    """The training pairs encoded: what batches are cut from."""

    sources: list[np.ndarray]
    targets: list[np.ndarray]  # [BOS] ids [EOS]
    lengths: np.ndarray  # (N,) source pieces
    source_pad: int
    target_pad: int
    device: torch.device

    def batch(self, index: np.ndarray) -> TranslationBatch:
        src, src_len = pad_batch([self.sources[i] for i in index], self.source_pad)  # (B, S)
        tgt, _ = pad_batch([self.targets[i] for i in index], self.target_pad)  # (B, T + 1)
        device = self.device
        return TranslationBatch(src.to(device), src_len.to(device), tgt.to(device), self.target_pad)
