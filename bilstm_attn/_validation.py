"""Checks on what a user passes in: texts, labels, sample weights.

Every error names the parameter, the position of the offending item, what was expected,
what came, and the fix.
"""

from __future__ import annotations

import math
import numbers
import re
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_unicode(text: str, name: str) -> None:
    """ValueError if ``text`` holds a surrogate code point, which is no Unicode character
    (a lone half of a UTF-16 pair, as ``errors='surrogateescape'`` decoding leaves)."""
    if not text.isascii() and (found := _SURROGATE.search(text)) is not None:
        raise ValueError(
            f"{name} holds the surrogate code point U+{ord(found.group()):04X} at character "
            f"{found.start()}, which is not valid Unicode text. Decode the bytes with "
            f"errors='replace', or remove it."
        )


def check_texts(X: object, name: str = "X") -> list[str]:
    """Validate raw texts and return them as a list of str (the texts themselves, unchanged).

    Raises
    ------
    TypeError
        For a bare string, a non-container, or an item that is not a str.
    ValueError
        For no texts, a missing item (None, NaN, pd.NA), a DataFrame of several columns, or
        a text holding a surrogate code point (not valid Unicode).
    """
    items = _as_items(X, name, "texts")
    if len(items) == 0:
        raise ValueError(f"{name} is empty; pass at least one text.")
    for position, item in enumerate(items):
        if isinstance(item, str):
            check_unicode(item, f"{name}[{position}]")
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
    """The distinct labels, sorted when they can be (first-seen order otherwise): a numeric
    array when they are all numbers of one kind that it holds exactly, else an object
    array of the labels as given."""
    seen: dict = {}
    for label in labels.tolist():
        first = seen.setdefault(label, label)
        if first is not label and _label_kind(first) != _label_kind(label):
            raise ValueError(
                f"y holds the labels {first!r} and {label!r}, which Python counts as one "
                f"label (they are equal) although they are of different types; give each "
                f"class one value, for example with y.astype(str)."
            )
    distinct = list(seen)
    try:
        distinct = sorted(distinct)
    except TypeError:
        pass
    kinds = {_label_kind(label) for label in distinct}
    if kinds == {"bool"} or kinds <= {"int", "float"}:  # numbers of one kind: a numeric array
        as_array = np.asarray(distinct)
        if as_array.dtype.kind in "biuf" and as_array.tolist() == distinct:  # nothing rounded
            return as_array
    classes = np.empty(len(distinct), dtype=object)
    classes[:] = distinct
    return classes


def _label_kind(label: object) -> str:
    """bool, int, float, complex or the type's name: labels of one kind that are equal
    are the same label (1 and np.int64(1)); of two kinds they are not (1 and True)."""
    if isinstance(label, (bool, np.bool_)):
        return "bool"
    for kind, abc in (
        ("int", numbers.Integral),
        ("float", numbers.Real),
        ("complex", numbers.Complex),
    ):
        if isinstance(label, abc):
            return kind
    return "str" if isinstance(label, str) else type(label).__name__


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
    weights = []
    for label in known:
        weight = class_weight.get(label, 1.0)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, numbers.Real)
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise ValueError(
                f"class_weight[{label!r}] is {weight!r}; class weights must be finite "
                f"non-negative numbers."
            )
        weights.append(float(weight))
    return np.array(weights)
