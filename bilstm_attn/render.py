"""Views of word weights: terminal (ANSI colours or plain brackets)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["highlight_ansi"]

# 256-colour backgrounds from pale yellow to deep orange, for rising weight.
_SHADES = (230, 229, 228, 221, 214, 208)


def highlight_ansi(
    words: Sequence[str], weights: np.ndarray, *, color: bool = True, top_k: int = 3
) -> str:
    """The words joined by spaces, the heavier ones highlighted.

    Parameters
    ----------
    words : sequence of str
    weights : ndarray of shape (len(words),)
    color : bool, default=True
        ANSI background colours scaled by weight (relative to the largest); without
        colour the ``top_k`` heaviest words are put in [brackets].
    top_k : int, default=3
        Words marked when ``color=False``.

    Returns
    -------
    str
        Control characters in the words are shown escaped, so a text cannot drive the
        terminal.
    """
    safe = [
        word.encode("unicode_escape").decode("ascii") if not word.isprintable() else word
        for word in words
    ]
    weights = np.asarray(weights, dtype=np.float64)
    if len(safe) == 0:
        return ""
    if not color:
        top = set(np.argsort(-weights, kind="stable")[:top_k].tolist())
        return " ".join(f"[{w}]" if i in top else w for i, w in enumerate(safe))
    scale = weights.max() if weights.max() > 0 else 1.0
    out = []
    for word, weight in zip(safe, weights):
        level = round(float(weight / scale) * (len(_SHADES) - 1))
        if weight > 0 and level > 0:
            out.append(f"\x1b[48;5;{_SHADES[level]}m\x1b[38;5;16m{word}\x1b[0m")
        else:
            out.append(word)
    return " ".join(out)
