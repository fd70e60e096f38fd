"""Tokenization over HF ``tokenizers``, offsets back to words, and length-bucketed batches.

Texts are NFKC-normalised (and lowercased unless asked not to), split on whitespace and
punctuation, and cut into word or sub-word pieces. Every piece keeps its character
offsets in the *original* text, so attention on pieces can be summed back onto the
words a user wrote (:func:`piece_word_index`).

Truncation: a text longer than ``max_length`` pieces is cut to ``max_length`` pieces for
training and prediction (:func:`truncate`): its first ones (``"head"``), its last ones
(``"tail"``) or its first quarter and last three quarters (``"head_tail"``); the rest of
the text is not seen by the model. A text with no pieces at all (empty or whitespace
only) is encoded as an empty sequence and classified from the model's bias alone.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import torch
from tokenizers import (
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    trainers,
)

from bilstm_attn.subword import canonical_unigram, count_words, learn_bpe

__all__ = [
    "AUTO_SUBWORD_ABOVE",
    "BOS_TOKEN",
    "EOS_TOKEN",
    "GENERATION_KINDS",
    "PAD_TOKEN",
    "TOKENIZER_KINDS",
    "TRUNCATIONS",
    "UNK_TOKEN",
    "bucket_batches",
    "build_tokenizer",
    "detokenize",
    "encode",
    "encode_ahead",
    "encode_with_offsets",
    "is_tokenizer_failure",
    "pad_batch",
    "pad_id",
    "piece_word_index",
    "sorted_batches",
    "special_id",
    "truncate",
    "unknown_piece_problem",
    "unknown_share",
    "vocab_size",
    "word_spans",
]

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
BOS_TOKEN = "[BOS]"
EOS_TOKEN = "[EOS]"
TOKENIZER_KINDS = ("bpe", "unigram", "word", "wordpiece")
GENERATION_KINDS = ("bpe", "char", "unigram", "word", "wordpiece")
TRUNCATIONS = ("head", "head_tail", "tail")
_SPACE = "\u2581"  # "▁", how generation tokenizers mark a space
_PAD_CANDIDATES = (PAD_TOKEN, "<pad>", "<PAD>", "[pad]")
_WORD = re.compile(r"\S+")


def _new_tokenizer(kind: str) -> Tokenizer:
    """An untrained tokenizer of one kind (its model is replaced once trained)."""
    if kind in ("word", "char"):
        return Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    if kind in ("bpe", "wordpiece"):
        tok = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN))
        tok.decoder = decoders.WordPiece(prefix="##")
        return tok
    if kind == "unigram":
        return Tokenizer(models.Unigram())
    raise ValueError(f"unknown tokenizer kind {kind!r}")


def _train_subword(tokenizer: Tokenizer, kind: str, texts: Sequence[str], options: dict) -> None:
    """Give ``tokenizer`` a BPE or WordPiece model learnt by :mod:`bilstm_attn.subword`.

    HF's own trainers for these two kinds are not deterministic (see that module); the
    vocabulary and merges learnt there are, and load into the same HF models.
    """
    learnt = learn_bpe(
        count_words(tokenizer, texts),
        vocab_size=options["vocab_size"],
        min_frequency=options["min_frequency"],
        special_tokens=options["special_tokens"],
        continuing_subword_prefix="##",
    )
    if kind == "bpe":
        tokenizer.model = models.BPE(
            learnt.vocab, learnt.merges, unk_token=UNK_TOKEN, continuing_subword_prefix="##"
        )
    else:
        tokenizer.model = models.WordPiece(
            learnt.vocab, unk_token=UNK_TOKEN, continuing_subword_prefix="##"
        )
    tokenizer.add_special_tokens(options["special_tokens"])


def build_tokenizer(
    kind: str,
    texts: Sequence[str],
    *,
    vocab_size: int = 30000,
    min_frequency: int = 2,
    lowercase: bool = True,
    generation: bool = False,
) -> Tokenizer:
    """Train a tokenizer on ``texts``.

    Parameters
    ----------
    kind : {"word", "bpe", "wordpiece", "unigram", "char"}
        Whole words, sub-word pieces learnt by byte-pair encoding, WordPiece or the
        unigram language model, or single characters ("char", with ``generation`` only).
    texts : sequence of str
        Training texts.
    vocab_size : int, default=30000
        Largest vocabulary, special tokens included.
    min_frequency : int, default=2
        Pieces seen fewer times are left out (ignored by "unigram").
    lowercase : bool, default=True
        Lowercase after NFKC normalisation.
    generation : bool, default=False
        Build a tokenizer whose output :func:`detokenize` turns back into text: spaces
        become ``▁`` marks (punctuation split off) or, for "char", tokens of their own;
        ``[BOS]`` and ``[EOS]`` are added as ids 2 and 3.

    Returns
    -------
    tokenizers.Tokenizer
        ``[PAD]`` has id 0 and ``[UNK]`` id 1.
    """
    tokenizer = _new_tokenizer(kind)
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    specials = [PAD_TOKEN, UNK_TOKEN] + ([BOS_TOKEN, EOS_TOKEN] if generation else [])
    if kind == "char":
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), "isolated")
    elif generation:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Metaspace(replacement=_SPACE), pre_tokenizers.Punctuation()]
        )
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    options = {"vocab_size": vocab_size, "special_tokens": specials, "show_progress": False}
    if kind in ("bpe", "wordpiece"):
        _train_subword(tokenizer, kind, texts, {**options, "min_frequency": min_frequency})
        return tokenizer
    if kind == "unigram":
        trainer = trainers.UnigramTrainer(**options, unk_token=UNK_TOKEN)
    else:
        trainer = trainers.WordLevelTrainer(**options, min_frequency=min_frequency)
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    if kind == "unigram":
        tokenizer.model = canonical_unigram(tokenizer, len(specials))
    return tokenizer


AUTO_SUBWORD_ABOVE = 0.15
"""``tokenizer="auto"`` trains wordpiece when more than this share of the training words
fall outside the word vocabulary (``benchmarks/NOTES.md``, "Where the accuracy came from",
has the shares on the benchmark corpora and what wordpiece did to their accuracy)."""


def unknown_share(tokenizer: Tokenizer, sequences: list[np.ndarray]) -> float:
    """Share of the pieces in ``sequences`` that are the tokenizer's ``[UNK]``."""
    unk = tokenizer.token_to_id(UNK_TOKEN)
    total = sum(len(ids) for ids in sequences)
    if unk is None or total == 0:
        return 0.0
    return sum(int(np.count_nonzero(ids == unk)) for ids in sequences) / total


def detokenize(tokenizer: Tokenizer, ids: Sequence[int]) -> str:
    """The text of generated ids: special tokens dropped, pieces joined, spaces restored."""
    specials = {PAD_TOKEN, BOS_TOKEN, EOS_TOKEN}
    pieces = []
    for token_id in ids:
        token = tokenizer.id_to_token(int(token_id))
        if token is None or token in specials:
            continue
        pieces.append(token[2:] if token.startswith("##") and len(token) > 2 else token)
    return "".join(pieces).replace(_SPACE, " ").strip(" ")


def special_id(tokenizer: Tokenizer, token: str) -> int:
    """Id of a special token the library's generation tokenizers carry."""
    token_id = tokenizer.token_to_id(token)
    if token_id is None:
        raise ValueError(
            f"the tokenizer has no {token} token; a tokenizer for generation needs "
            f"{PAD_TOKEN}, {UNK_TOKEN}, {BOS_TOKEN} and {EOS_TOKEN}."
        )
    return token_id


def load_tokenizer(tokenizer: Tokenizer | str | os.PathLike) -> Tokenizer:
    """A private copy of a ready tokenizer or of a ``tokenizer.json`` file.

    The copy has truncation and padding turned off (the library truncates itself), so
    the caller's tokenizer is never changed.
    """
    if isinstance(tokenizer, Tokenizer):
        copy = Tokenizer.from_str(tokenizer.to_str())
    else:
        copy = Tokenizer.from_file(os.fspath(tokenizer))
    copy.no_truncation()
    copy.no_padding()
    return copy


def unknown_piece_problem(tokenizer: Tokenizer) -> str | None:
    """Why ``tokenizer`` would raise on a piece outside its vocabulary, or None.

    HF's WordLevel and WordPiece models raise on such a piece unless their unknown
    token is in the vocabulary, a Unigram model does unless it has an unknown id, and a
    BPE model does when it names an unknown token that is not in it.
    """
    model = tokenizer.model
    kind = type(model).__name__
    if kind in ("WordLevel", "WordPiece"):
        if model.unk_token is None or tokenizer.token_to_id(model.unk_token) is None:
            return f"its {kind} model's unknown token {model.unk_token!r} is not in its vocabulary"
    try:
        tokenizer.encode("\U000f0000\u0378 q")  # a private-use and an unassigned character
    except BaseException as error:  # a bare Exception, or a Rust panic
        if not is_tokenizer_failure(error):
            raise
        return f"it cannot encode a character outside its vocabulary ({error})"
    return None


def is_tokenizer_failure(error: BaseException) -> bool:
    """Whether ``error`` is tokenizers failing on its input: an Exception, or the panic
    of its Rust code (pyo3's PanicException derives from BaseException)."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


def vocab_size(tokenizer: Tokenizer) -> int:
    """Rows the embedding table needs: every id the tokenizer emits, plus padding."""
    return max(_largest_id(tokenizer) + 1, pad_id(tokenizer) + 1)


def _largest_id(tokenizer: Tokenizer) -> int:
    return max(tokenizer.get_vocab(with_added_tokens=True).values(), default=-1)


def pad_id(tokenizer: Tokenizer) -> int:
    """The padding id: the tokenizer's own pad token, else one past its vocabulary."""
    for token in _PAD_CANDIDATES:
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return token_id
    return _largest_id(tokenizer) + 1


# Texts handed to the tokenizer at once. Its Encoding objects (pieces, offsets, masks)
# take tens of kilobytes per long text, so they are turned into compact arrays slice by
# slice; a whole corpus at once would hold gigabytes (measured: 6 GB for 100k reviews).
_ENCODE_SLICE = 2048


# Normal forms leave ASCII text as it is; HF's Lowercase lowers ASCII as str.lower does.
_ASCII_UNCHANGED = frozenset({"NFC", "NFD", "NFKC", "NFKD"})


class _AsciiTwin(NamedTuple):
    tokenizer: Tokenizer  # the same model and pre-tokenizer, no normalizer
    lowercase: bool
    markers: tuple[str, ...]  # the added tokens, lowered, as an ASCII text could hold them


def _normalizer_steps(state: dict) -> list[str]:
    if state["type"] == "Sequence":
        return [step for inner in state["normalizers"] for step in _normalizer_steps(inner)]
    return [state["type"]]


def _ascii_twin(tokenizer: Tokenizer) -> _AsciiTwin | None:
    """A copy of ``tokenizer`` without its normalizer that encodes ASCII texts alike.

    Every Unicode normal form leaves an ASCII text unchanged, and HF's ``Lowercase``
    lowers it as ``str.lower`` does, character for character; so on an ASCII text, the
    twin (sharing the model and pre-tokenizer) given the lowered text finds the same
    pieces, ids and offsets. It skips the normalizer's per-character bookkeeping, a
    quarter of the encoding time of English texts. A text holding an added token
    (``[PAD]``, ``[UNK]``...), which the tokenizer splits off before normalizing, is
    left to the tokenizer itself.

    None where that does not hold or buys nothing: no normalizer, a normalizing step
    other than NFC, NFD, NFKC, NFKD and Lowercase, or truncation, padding or a
    post-processor set.
    """
    if (
        tokenizer.normalizer is None
        or tokenizer.truncation is not None
        or tokenizer.padding is not None
        or tokenizer.post_processor is not None
    ):
        return None
    steps = _normalizer_steps(json.loads(tokenizer.normalizer.__getstate__()))
    if not set(steps) <= _ASCII_UNCHANGED | {"Lowercase"}:
        return None
    twin = Tokenizer(tokenizer.model)
    twin.pre_tokenizer = tokenizer.pre_tokenizer
    forms = [step for step in steps if step in _ASCII_UNCHANGED]
    markers = {
        written.lower()
        for token in tokenizer.get_added_tokens_decoder().values()
        for written in [token.content] + [unicodedata.normalize(f, token.content) for f in forms]
        if written.isascii()
    }
    return _AsciiTwin(twin, "Lowercase" in steps, tuple(sorted(markers)))


def _batch_encode(tokenizer: Tokenizer, texts: list[str], offsets: bool) -> list:
    # encode_batch_fast (tokenizers >= 0.20) skips the character offsets: 40% faster
    encode = tokenizer.encode_batch
    if not offsets:
        encode = getattr(tokenizer, "encode_batch_fast", encode)
    return encode(texts, add_special_tokens=False)


def _encode_slice(tokenizer: Tokenizer, twin: _AsciiTwin | None, texts: list[str], offsets: bool):
    if twin is None:
        return _batch_encode(tokenizer, texts, offsets)
    ascii_at, ascii_texts, other_at, other_texts = [], [], [], []
    for i, text in enumerate(texts):
        lowered = text.lower() if text.isascii() else None
        if lowered is not None and not any(marker in lowered for marker in twin.markers):
            ascii_at.append(i)
            ascii_texts.append(lowered if twin.lowercase else text)
        else:
            other_at.append(i)
            other_texts.append(text)
    found = [None] * len(texts)
    for at, encodings in (
        (ascii_at, _batch_encode(twin.tokenizer, ascii_texts, offsets)),
        (other_at, _batch_encode(tokenizer, other_texts, offsets)),
    ):
        for i, encoding in zip(at, encodings):
            found[i] = encoding
    return found


def _encodings(tokenizer: Tokenizer, texts: Sequence[str], offsets: bool = True):
    texts = list(texts)
    twin = _ascii_twin(tokenizer)
    for start in range(0, len(texts), _ENCODE_SLICE):
        yield from _encode_slice(tokenizer, twin, texts[start : start + _ENCODE_SLICE], offsets)


def truncate(items, max_length: int | None, truncation: str = "head"):
    """At most ``max_length`` of ``items`` (the pieces of one text), in their order.

    Parameters
    ----------
    items : list or ndarray
        Token ids, offsets, or anything else with one entry per piece.
    max_length : int or None
        None keeps everything.
    truncation : {"head", "head_tail", "tail"}, default="head"
        Keep the first ``max_length`` items, the last ones, or the first
        ``max_length // 4`` and the last ``max_length - max_length // 4`` (the end of a
        review or a message often says the most; its beginning names the topic; Sun et
        al., 2019, found this split best for long IMDB reviews).

    Examples
    --------
    >>> truncate(list(range(10)), 4, "head_tail")
    [0, 7, 8, 9]
    """
    if max_length is None or len(items) <= max_length:
        return items
    if truncation == "head":
        return items[:max_length]
    if truncation == "tail":
        return items[len(items) - max_length :]
    if truncation == "head_tail":
        head = max_length // 4
        tail = items[len(items) - (max_length - head) :]
        if isinstance(items, np.ndarray):
            return np.concatenate([items[:head], tail])
        return items[:head] + tail
    raise ValueError(f"unknown truncation {truncation!r}; expected one of {TRUNCATIONS}")


def encode(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    max_length: int | None,
    truncation: str = "head",
) -> list[np.ndarray]:
    """Token ids of each text, cut to ``max_length`` pieces (see :func:`truncate`)."""
    return [
        np.asarray(truncate(enc.ids, max_length, truncation), dtype=np.int64)
        for enc in _encodings(tokenizer, texts, offsets=False)
    ]


def encode_ahead(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    max_length: int | None,
    truncation: str = "head",
    *,
    first: int = 256,
    largest: int = 8192,
) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """:func:`encode` in chunks of texts of similar length, each encoded one chunk ahead.

    The texts are taken shortest first by their number of characters, so that texts that
    will share a length-sorted batch share a chunk (the padding of batches drawn chunk by
    chunk stays within 1% of a global sort). Each chunk is encoded in a background
    thread while the caller works on the one before: the tokenizer releases the GIL, so
    the encoding runs on another core. Chunks start at ``first`` texts, so that the one
    encoding the caller waits for is short, and double up to ``largest``.

    Yields
    ------
    index : ndarray of int
        Positions in ``texts`` of the chunk's texts.
    sequences : list of ndarray
        ``encode(tokenizer, [texts[i] for i in index], max_length, truncation)``.
    """
    texts = list(texts)
    order = np.argsort(np.fromiter(map(len, texts), np.int64, len(texts)), kind="stable")
    chunks, start, size = [], 0, first
    while start < len(texts):
        chunks.append(order[start : start + size])
        start, size = start + size, min(2 * size, largest)
    with ThreadPoolExecutor(max_workers=1) as pool:

        def submit(i: int):
            chunk = [texts[j] for j in chunks[i]]
            return pool.submit(encode, tokenizer, chunk, max_length, truncation)

        pending = submit(0) if chunks else None
        for i, index in enumerate(chunks):
            sequences = pending.result()
            pending = submit(i + 1) if i + 1 < len(chunks) else None
            yield index, sequences


def encode_with_offsets(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    max_length: int | None,
    truncation: str = "head",
) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
    """Token ids and their (start, end) character offsets in each original text."""
    return [
        (
            np.asarray(truncate(enc.ids, max_length, truncation), dtype=np.int64),
            truncate(enc.offsets, max_length, truncation),
        )
        for enc in _encodings(tokenizer, texts)
    ]


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the whitespace-separated words of ``text``."""
    return [match.span() for match in _WORD.finditer(text)]


def piece_word_index(
    offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """For each piece, the index of the word (from :func:`word_spans`) it lies in.

    A piece belongs to the last word that starts at or before its first character, or to
    none (-1) if it starts before every word: a tokenizer may read as a piece what Python
    counts as whitespace (``"\\x1c"``). The indices never decrease.
    """
    starts = [start for start, _ in spans]
    index = [bisect.bisect_right(starts, start) - 1 for start, _ in offsets]
    return np.asarray(index, dtype=np.int64)


def pad_batch(sequences: Sequence[np.ndarray], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id sequences into ``ids`` (B, S) and ``lengths`` (B,), with S >= 1."""
    lengths = np.fromiter((len(seq) for seq in sequences), dtype=np.int64, count=len(sequences))
    width = max(int(lengths.max(initial=0)), 1)
    ids = np.full((len(sequences), width), pad, dtype=np.int64)  # (B, S)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
    return torch.from_numpy(ids), torch.from_numpy(lengths)


def bucket_batches(
    lengths: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None = None,
    bucket_size: int = 50,
) -> Iterator[np.ndarray]:
    """Index batches of similar lengths.

    With ``rng``, the data are shuffled, cut into chunks of ``batch_size * bucket_size``
    items, each chunk sorted by length and cut into batches, and the batches shuffled:
    little padding, yet a different mix every epoch. Without ``rng`` (prediction), all
    items are sorted by length.
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]
        return
    order = rng.permutation(n)
    chunk = batch_size * bucket_size
    batches = []
    for start in range(0, n, chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    for position in rng.permutation(len(batches)):
        yield batches[position]


def sorted_batches(lengths: np.ndarray, max_tokens: int, multiple: int = 8) -> list[np.ndarray]:
    """Index batches for inference: all items sorted by length, each batch as many
    items as fit in ``max_tokens`` once padded to its longest (at least one), rounded
    down to a multiple of ``multiple`` where at least ``multiple`` fit; the last batch
    holds what is left.

    Short texts then go in large batches and long ones in small batches, so every batch
    costs about the same and the tensors stay small enough for the allocator to reuse.
    The rounding is for oneDNN's bf16 recurrent kernels (AMX, AVX-512-BF16), which run
    several times slower on a batch whose size has no small factor (a prime such as 61)
    than on a neighbouring multiple of 8; float32 kernels do not mind.
    """
    if isinstance(multiple, bool) or not isinstance(multiple, int) or multiple < 1:
        raise ValueError(f"multiple must be a positive int; got {multiple!r}.")
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    widths = np.maximum(lengths[order], 1).tolist()  # padded width of a batch ending there
    batches, start = [], 0
    while start < len(order):
        end = start + 1  # order[start:end] fits
        while end < len(order) and (end + 1 - start) * widths[end] <= max_tokens:
            end += 1
        size = end - start
        if end < len(order) and size > multiple:  # the last batch takes what is left
            size -= size % multiple
        batches.append(order[start : start + size])
        start += size
    return batches
