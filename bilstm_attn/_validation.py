"""Checks on what a user passes in: texts, labels, sample weights.

Every error names the parameter, the position of the offending item, what was expected,
what came, and the fix.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "check_labels",
    "check_sample_weight",
    "check_texts",
    "class_weights",
    "encode_labels",
    "sorted_classes",
]

_ACCEPTED = "a list, tuple, NumPy array or pandas Series of str, or a one-column DataFrame"


def _is_missing(item: object) -> bool:
    if item is None or item is pd.NA or item is pd.NaT:
        return True
    return isinstance(item, numbers.Real) and not isinstance(item, bool) and math.isnan(item)


def _as_items(data: object, name: str, what: str) -> list:
    """Turn a 1-D container into a list of its items, refusing what is not one."""
    if isinstance(data, (str, bytes)):
        raise TypeError(
            f"{name} must be {_ACCEPTED}; got a single {type(data).__name__}. "
            f"Wrap it in a list: [{name}]."
        )
    if isinstance(data, pd.DataFrame):
        if data.shape[1] != 1:
            raise ValueError(
                f"{name} is a DataFrame with {data.shape[1]} columns; pass the one column "
                f"that holds the {what}, for example df['text']."
            )
        return data.iloc[:, 0].tolist()
    if isinstance(data, pd.Series):
        return data.tolist()
    if isinstance(data, np.ndarray):
        if data.ndim == 2 and data.shape[1] == 1:
            data = data[:, 0]
        if data.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional; got an array of shape {data.shape}.")
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return list(data)
    if isinstance(data, Sequence) or hasattr(data, "__array__"):
        return list(data)
    raise TypeError(f"{name} must be {_ACCEPTED}; got {type(data).__name__}.")


def check_texts(X: object, name: str = "X") -> list[str]:
    """Validate raw texts and return them as a list of str (the texts themselves, unchanged).

    Raises
    ------
    TypeError
        For a bare string, a non-container, or an item that is not a str.
    ValueError
        For no texts, a missing item (None, NaN, pd.NA), or a DataFrame of several columns.
    """
    items = _as_items(X, name, "texts")
    if len(items) == 0:
        raise ValueError(f"{name} is empty; pass at least one text.")
    for position, item in enumerate(items):
        if isinstance(item, str):
            continue
        if _is_missing(item):
            raise ValueError(
                f"{name}[{position}] is missing ({item!r}); every item of {name} must be a str. "
                f"Drop missing texts or fill them, for example X.fillna('')."
            )
        if isinstance(item, bytes):
            raise TypeError(
                f"{name}[{position}] is bytes; every item of {name} must be a str. "
                f"Decode it first, for example item.decode('utf-8')."
            )
        raise TypeError(
            f"{name}[{position}] is {type(item).__name__} ({item!r:.40}); every item of {name} "
            f"must be a str. Convert the items, for example [str(x) for x in {name}]."
        )
    return [str(item) for item in items]


def check_labels(y: object, n_samples: int, name: str = "y") -> np.ndarray:
    """Validate labels of any hashable type; return them as a 1-D object array."""
    items = _as_items(y, name, "labels")
    if len(items) != n_samples:
        raise ValueError(
            f"X has {n_samples} texts but {name} has {len(items)} labels; "
            f"they must have the same length."
        )
    for position, item in enumerate(items):
        if _is_missing(item):
            raise ValueError(
                f"{name}[{position}] is missing ({item!r}); every text needs a label. "
                f"Drop the unlabelled rows first."
            )
        if not isinstance(item, Hashable):
            raise TypeError(
                f"{name}[{position}] is {type(item).__name__}, which is not hashable; "
                f"labels must be hashable values such as str or int. (Multi-label targets "
                f"are not supported.)"
            )
    labels = np.empty(len(items), dtype=object)
    labels[:] = items
    return labels


def sorted_classes(labels: np.ndarray) -> np.ndarray:
    """The distinct labels, sorted when they can be (first-seen order otherwise)."""
    distinct = list(dict.fromkeys(labels.tolist()))
    try:
        distinct = sorted(distinct)
    except TypeError:
        pass
    as_array = np.asarray(distinct)
    if as_array.ndim == 1 and as_array.dtype.kind in "biuf" and len(as_array) == len(distinct):
        return as_array
    classes = np.empty(len(distinct), dtype=object)
    classes[:] = distinct
    return classes


def check_sample_weight(sample_weight: object, n_samples: int) -> np.ndarray:
    """Validate ``sample_weight``: None or non-negative finite numbers, one per text."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    if isinstance(sample_weight, numbers.Real):
        weights = np.full(n_samples, float(sample_weight))
    else:
        try:
            weights = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError("sample_weight must be an array of numbers, one per text.") from None
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {weights.shape}; expected ({n_samples},), "
            f"one weight per text."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must hold finite, non-negative numbers.")
    if weights.sum() <= 0:
        raise ValueError("sample_weight sums to 0; at least one text needs a positive weight.")
    return weights


def encode_labels(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Each label's position in ``classes``; an unknown label is an error.

    Unknown labels can only come with ``warm_start``, which keeps the fitted classes.
    """
    index = {label: position for position, label in enumerate(classes.tolist())}
    unknown = [label for label in dict.fromkeys(labels.tolist()) if label not in index]
    if unknown:
        raise ValueError(
            f"y has labels {unknown[:5]!r} that the fitted model does not know "
            f"(classes_ = {classes.tolist()!r}). warm_start continues training on the "
            f"same classes; set warm_start=False to start anew."
        )
    return np.fromiter((index[label] for label in labels.tolist()), np.int64, len(labels))


def class_weights(
    class_weight: dict | str | None, classes: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """One weight per class from a ``class_weight`` parameter (None, "balanced" or dict).

    "balanced" gives ``n_samples / (n_classes * count)``, as scikit-learn does; a class
    absent from ``targets`` gets 1.
    """
    if class_weight is None:
        return np.ones(len(classes))
    if isinstance(class_weight, str):  # "balanced"
        counts = np.bincount(targets, minlength=len(classes)).astype(np.float64)
        balanced = len(targets) / (len(classes) * np.maximum(counts, 1))
        return np.where(counts > 0, balanced, 1.0)
    known = classes.tolist()
    unknown = [key for key in class_weight if key not in known]
    if unknown:
        raise ValueError(
            f"class_weight has keys {unknown!r} that are not classes in y (classes: {known!r})."
        )
    return np.array([float(class_weight.get(label, 1.0)) for label in known])
