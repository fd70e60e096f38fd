"""Views: word weights (terminal, HTML, matplotlib) and attention matrices (terminal,
matplotlib). Nothing here knows the estimators; it draws tokens and numbers."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

__all__ = [
    "attention_ansi",
    "explanation_html",
    "highlight_ansi",
    "html_document",
    "plot_attention",
    "plot_weights",
]

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


_BLOCKS = " ░▒▓█"


def _printable(token: str) -> str:
    return token if token.isprintable() else token.encode("unicode_escape").decode("ascii")


def _pyplot():
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plot() needs matplotlib; install it with pip install 'bilstm-attn[plot]'."
        ) from error
    return plt


def attention_ansi(source: Sequence[str], target: Sequence[str], matrix: np.ndarray) -> str:
    """An attention matrix as text: one row per target token, one column per source token.

    Each cell is a shade from blank (0) to a full block (1); the source tokens are listed
    under their column numbers.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    width = max([len(_printable(t)) for t in target] + [1])

    def cells(row: np.ndarray) -> str:
        shades = (min(int(w * len(_BLOCKS)), len(_BLOCKS) - 1) for w in row)
        return "".join(_BLOCKS[shade] * 2 for shade in shades)

    lines = [f"{_printable(tok):>{width}} |{cells(row)}|" for tok, row in zip(target, matrix)]
    legend = "  ".join(f"{i}:{_printable(tok)}" for i, tok in enumerate(source))
    header = " " * width + "  " + "".join(f"{i % 10:<2}" for i in range(len(source)))
    return "\n".join([header, *lines, f"source: {legend}"])


def plot_attention(source: Sequence[str], target: Sequence[str], matrix: np.ndarray, ax=None):
    """A matplotlib heatmap of an attention matrix: source on x, target on y.

    Returns the Axes. Needs matplotlib (``pip install bilstm-attn[plot]``).
    """
    plt = _pyplot()
    if ax is None:
        size = (max(3.0, 0.35 * len(source) + 1.5), max(2.5, 0.35 * len(target) + 1.0))
        _, ax = plt.subplots(figsize=size)
    image = ax.imshow(np.asarray(matrix), cmap="gray", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), [_printable(t) for t in source], rotation=90)
    ax.set_yticks(range(len(target)), [_printable(t) for t in target])
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.figure.tight_layout()
    return ax


_HTML_STYLE = """
.bilstm-attn-explanation { font-family: sans-serif; line-height: 1.9; margin: 0.8em 0; }
.bilstm-attn-explanation .meta { font-size: 0.85em; color: #555; }
.bilstm-attn-explanation .w { padding: 0.1em 0.15em; border-radius: 0.2em; }
"""


def _word_style(weight: float, scale: float) -> str:
    """Orange for weight pushing towards the label, blue against; opacity by size."""
    alpha = min(abs(weight) / scale, 1.0) if scale > 0 else 0.0
    rgb = "255,140,0" if weight >= 0 else "30,110,255"
    return f"background-color: rgba({rgb},{alpha:.3f})"


def explanation_html(
    tokens: Sequence[str], weights: np.ndarray, *, label: object, proba: float, method: str
) -> str:
    """One explanation as an HTML fragment; every user-given string is escaped.

    Each word is a ``<span class="w">`` whose background shows its weight (its value in
    the ``title``); no script, no external resource.
    """
    weights = np.asarray(weights, dtype=np.float64)
    scale = float(np.abs(weights).max()) if len(weights) else 0.0
    words = " ".join(
        f'<span class="w" style="{_word_style(w, scale)}" title="{w:.4f}">{html.escape(t)}</span>'
        for t, w in zip(tokens, weights)
    )
    meta = f"{html.escape(str(label))} ({proba:.3f}), {html.escape(method)}"
    return (
        f'<div class="bilstm-attn-explanation"><div class="meta">{meta}</div>'
        f"<div>{words}</div></div>"
    )


def html_document(fragments: Sequence[str], title: str = "bilstm-attn explanations") -> str:
    """A standalone HTML page (inline style, no scripts) holding the fragments."""
    body = "\n".join(fragments)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_HTML_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def plot_weights(tokens: Sequence[str], weights: np.ndarray, *, title: str = "", ax=None):
    """A matplotlib bar chart of one weight per word. Returns the Axes."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.4 * len(tokens) + 1.0), 3.0))
    weights = np.asarray(weights, dtype=np.float64)
    ax.bar(
        range(len(tokens)), weights, color=["tab:orange" if w >= 0 else "tab:blue" for w in weights]
    )
    ax.set_xticks(range(len(tokens)), [_printable(t) for t in tokens], rotation=90)
    ax.set_ylabel("weight")
    ax.set_title(title)
    ax.figure.tight_layout()
    return ax
