"""Fitting the tokenizer of an estimator: one trained on the texts, or a copy of one given."""

from __future__ import annotations

import os

import numpy as np
from tokenizers import Tokenizer

from bilstm_attn.text import (
    AUTO_SUBWORD_ABOVE,
    GENERATION_KINDS,
    TOKENIZER_KINDS,
    build_tokenizer,
    encode,
    is_tokenizer_failure,
    load_tokenizer,
    unknown_piece_problem,
    unknown_share,
)

__all__ = ["TokenizerFitting"]


class TokenizerFitting:
    """The tokenizer steps of :class:`~bilstm_attn._estimator.TorchEstimator`; they read
    the parameters ``vocab_size``, ``min_frequency``, ``lowercase`` and ``verbose``."""

    def _fit_tokenizer(
        self,
        texts: list[str],
        spec: object,
        param: str = "tokenizer",
        *,
        generation: bool = False,
        also: tuple[str, ...] = (),
    ) -> Tokenizer:
        """The tokenizer for ``fit``: trained on ``texts``, or a copy of the one given.

        ``spec`` is the value of the parameter named ``param``: a kind to train, a
        ``tokenizers.Tokenizer`` or the path of a ``tokenizer.json``. ``also`` names
        further values the estimator accepts (resolved before this call), for the
        error message.
        """
        kinds = GENERATION_KINDS if generation else TOKENIZER_KINDS
        if isinstance(spec, str) and spec in kinds:
            return build_tokenizer(
                spec,
                texts,
                vocab_size=self.vocab_size,
                min_frequency=self.min_frequency,
                lowercase=self.lowercase,
                generation=generation,
            )
        owner = type(self).__name__
        if isinstance(spec, Tokenizer):
            return _usable(load_tokenizer(spec), param, owner, "is a tokenizer")
        if not os.path.isfile(spec):
            listed = ", ".join(repr(kind) for kind in sorted({*kinds, *also}))
            raise ValueError(
                f"The '{param}' parameter of {owner} must be one of {listed}, "
                f"a tokenizers.Tokenizer, or the path of a tokenizer.json file. "
                f"Got {spec!r} instead (no such file)."
            )
        try:
            tokenizer = load_tokenizer(spec)
        except BaseException as error:  # a bare Exception, or a Rust panic
            if not is_tokenizer_failure(error):
                raise
            raise ValueError(
                f"The '{param}' parameter of {owner} names the file {spec!r}, "
                f"which is not a tokenizer.json that tokenizers can read: {error}"
            ) from error
        return _usable(tokenizer, param, owner, f"names the file {spec!r}, a tokenizer")

    def _auto_tokenizer(self, texts: list[str]) -> tuple[Tokenizer, list[np.ndarray]]:
        """``tokenizer="auto"``: a word vocabulary, or wordpiece where more than
        ``AUTO_SUBWORD_ABOVE`` of the training words fall outside it; with the texts
        encoded whole by it."""
        tokenizer = self._fit_tokenizer(texts, "word", also=("auto",))
        whole = encode(tokenizer, texts, None)
        share = unknown_share(tokenizer, whole)
        chosen = "wordpiece" if share > AUTO_SUBWORD_ABOVE else "word"
        if chosen == "wordpiece":
            tokenizer = self._fit_tokenizer(texts, chosen)
            whole = encode(tokenizer, texts, None)
        if self.verbose >= 1:
            print(f"tokenizer='auto': {share:.1%} of words are [UNK]; using {chosen!r}")
        return tokenizer, whole


def _usable(tokenizer: Tokenizer, param: str, owner: str, what: str) -> Tokenizer:
    """``tokenizer``, if it can encode any text (see ``unknown_piece_problem``)."""
    problem = unknown_piece_problem(tokenizer)
    if problem is not None:
        raise ValueError(
            f"The '{param}' parameter of {owner} {what} that cannot encode every text: "
            f"{problem}. Add the unknown token to its vocabulary."
        )
    return tokenizer
