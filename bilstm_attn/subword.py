"""Trained vocabularies that are the same in every process: BPE, WordPiece and unigram.

HF ``tokenizers``' ``BpeTrainer`` (which ``WordPieceTrainer`` runs too) gives the pieces
that continue a word (``##s``) their ids in the order it meets them while iterating a
hash map of the words, an order that changes from one process, and one call, to the
next; merges of equal count are then ranked by those ids, so the same texts give
different vocabularies (huggingface/tokenizers #1794, not fixed in any release this
library supports). This module learns the same kind of vocabulary with every order fixed:

1. the words and their counts, from the tokenizer's own normalizer and pre-tokenizer;
2. ids: the special tokens, then every character (sorted by code point), then every
   character as a continuing piece (``##`` + character, same order);
3. merges (Sennrich et al., 2016): repeatedly the most frequent adjacent pair of pieces
   becomes one piece, ties going to the pair of smallest ids (as in ``BpeTrainer``),
   until the vocabulary has ``vocab_size`` entries or no pair is seen ``min_frequency``
   times.

Nothing depends on hash order, thread count or process, so the same texts and options
give the same vocabulary and merges everywhere. Without a continuing prefix the result
is that of ``BpeTrainer`` itself (tested), whose ids are then fixed too.

HF's ``UnigramTrainer`` has the same trouble in its scores and ids; its models are made
canonical afterwards (:func:`canonical_unigram`).
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
from tokenizers import Tokenizer, models, trainers

__all__ = ["BPEVocabulary", "canonical_unigram", "count_words", "learn_bpe"]

# Texts encoded at once while counting words (the encodings of a slice are held together).
_COUNT_SLICE = 4096


def count_words(tokenizer: Tokenizer, texts: Sequence[str]) -> list[tuple[str, int]]:
    """The words ``tokenizer``'s normalizer and pre-tokenizer make of ``texts``, counted.

    Returns ``(word, count)`` pairs sorted by word. The counting runs in ``tokenizers``
    (a word-level vocabulary of every word, then each text encoded with it), which
    releases the GIL and uses its own threads.
    """
    counter = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    counter.normalizer = tokenizer.normalizer
    counter.pre_tokenizer = tokenizer.pre_tokenizer
    trainer = trainers.WordLevelTrainer(
        vocab_size=2**31 - 1, min_frequency=0, special_tokens=[], show_progress=False
    )
    counter.train_from_iterator(texts, trainer=trainer, length=len(texts))
    n_words = counter.get_vocab_size()
    counts = np.zeros(n_words, dtype=np.int64)
    encode = getattr(counter, "encode_batch_fast", counter.encode_batch)
    for start in range(0, len(texts), _COUNT_SLICE):
        encodings = encode(list(texts[start : start + _COUNT_SLICE]), add_special_tokens=False)
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        if ids:
            counts += np.bincount(np.concatenate(ids), minlength=n_words)
    words = counter.get_vocab()
    return sorted((word, int(counts[i])) for word, i in words.items() if counts[i] > 0)


class BPEVocabulary(NamedTuple):
    """What :func:`learn_bpe` learns: ``vocab`` (piece -> id) and ``merges`` (in order)."""

    vocab: dict[str, int]
    merges: list[tuple[str, str]]


def _initial_pieces(
    words: Sequence[str], specials: Sequence[str], prefix: str | None
) -> tuple[list[str], dict[str, int]]:
    """Specials, then the characters, then the continuing characters, each sorted."""
    pieces = list(dict.fromkeys(specials))
    chars = sorted({c for word in words for c in word})
    continuing = sorted({c for word in words for c in word[1:]}) if prefix else []
    candidates = chars + [prefix + c for c in continuing]
    ids = {piece: i for i, piece in enumerate(pieces)}
    for piece in candidates:
        if piece not in ids:
            ids[piece] = len(pieces)
            pieces.append(piece)
    return pieces, ids


def _find_pair(symbols: list[int], a: int, b: int, start: int) -> int:
    """The first position ``i >= start`` with ``symbols[i:i + 2] == [a, b]``, else -1."""
    last = len(symbols) - 1
    while True:
        try:
            i = symbols.index(a, start, last)
        except ValueError:
            return -1
        if symbols[i + 1] == b:
            return i
        start = i + 1


def _merge_word(
    symbols: list[int], a: int, b: int, new: int
) -> tuple[list[int], list[int], list[int]] | None:
    """Replace every non-overlapping ``a b`` in ``symbols`` (left to right) by ``new``.

    Returns the new symbols, the positions ``j`` of the pairs ``(symbols[j],
    symbols[j + 1])`` that the merges removed, and the positions ``k`` of the pairs of
    the new symbols that hold a merged piece; None when ``a b`` does not occur.
    """
    n = len(symbols)
    i = _find_pair(symbols, a, b, 0)
    if i < 0:
        return None
    out = symbols[:i]
    merged_at: list[int] = []
    removed: set[int] = set()
    while i < n:
        if i + 1 < n and symbols[i] == a and symbols[i + 1] == b:
            removed.update(j for j in (i - 1, i, i + 1) if 0 <= j < n - 1)
            merged_at.append(len(out))
            out.append(new)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    added = {j for k in merged_at for j in (k - 1, k) if 0 <= j < len(out) - 1}
    return out, sorted(removed), sorted(added)


def learn_bpe(
    word_counts: Iterable[tuple[str, int]],
    *,
    vocab_size: int,
    min_frequency: int = 0,
    special_tokens: Sequence[str] = (),
    continuing_subword_prefix: str | None = "##",
) -> BPEVocabulary:
    """Learn byte-pair merges from counted words, deterministically (see the module doc).

    Parameters
    ----------
    word_counts : iterable of (str, int)
        Each distinct word once, with its count (as :func:`count_words` returns).
    vocab_size : int
        Merges stop once the vocabulary has this many pieces (the special tokens and the
        characters are always in it, even beyond it).
    min_frequency : int, default=0
        Merges stop at the first pair seen fewer times.
    special_tokens : sequence of str, default=()
        Ids 0, 1, ... in their order.
    continuing_subword_prefix : str or None, default="##"
        Marks pieces that continue a word (as HF's ``BPE`` and ``WordPiece`` models
        read them); None: no mark, pieces are the same wherever they stand.

    Returns
    -------
    BPEVocabulary
    """
    words, counts = [], []
    for word, count in word_counts:
        if word and count > 0:
            words.append(word)
            counts.append(int(count))
    prefix = continuing_subword_prefix or None
    pieces, ids = _initial_pieces(words, special_tokens, prefix)
    symbols = []
    for word in words:
        first, rest = word[0], word[1:]
        symbols.append([ids[first]] + [ids[prefix + c if prefix else c] for c in rest])
    pair_counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for w, seq in enumerate(symbols):
        for pair in itertools.pairwise(seq):
            pair_counts[pair] = pair_counts.get(pair, 0) + counts[w]
            where.setdefault(pair, set()).add(w)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)  # most frequent first; ties: the smallest pair of ids
    merges: list[tuple[str, str]] = []
    strip = len(prefix) if prefix else 0
    while len(ids) < vocab_size and heap:
        negative, pair = heapq.heappop(heap)
        count = pair_counts[pair]
        if -negative != count:  # stale entry: its count changed since it was pushed
            if count > 0:
                heapq.heappush(heap, (-count, pair))
            continue
        if count < max(min_frequency, 1):
            break
        a, b = pair
        left, right = pieces[a], pieces[b]
        new_piece = left + (right[strip:] if prefix and right.startswith(prefix) else right)
        new = ids.get(new_piece)
        if new is None:
            new = ids[new_piece] = len(pieces)
            pieces.append(new_piece)
        merges.append((left, right))
        grown: set[tuple[int, int]] = set()
        for w in where.pop(pair, ()):
            found = _merge_word(symbols[w], a, b, new)
            if found is None:  # merged away by an earlier merge
                continue
            before, c = symbols[w], counts[w]
            symbols[w], removed, added = found
            for j in removed:
                gone = (before[j], before[j + 1])
                pair_counts[gone] -= c
            after = symbols[w]
            for k in added:
                made = (after[k], after[k + 1])
                pair_counts[made] = pair_counts.get(made, 0) + c
                where.setdefault(made, set()).add(w)
                grown.add(made)
        for made in grown:
            heapq.heappush(heap, (-pair_counts[made], made))
    return BPEVocabulary(ids, merges)


# Decimals a trained unigram score keeps (a log-probability, about -2 to -20).
_UNIGRAM_DECIMALS = 6
# HF's UnigramTrainer gives each character that its EM dropped the lowest score of the
# model plus this much times its place in a hash-set iteration.
_UNIGRAM_CHAR_PENALTY = 0.0001


def _readded_chars(pieces: list[tuple[str, float]]) -> set[str]:
    """The single characters whose scores HF's trainer set to ``min + k * penalty``.

    ``min`` is the lowest score of the trained model (no piece scores less), ``k`` the
    character's place in an order that changes from one process to the next; the scores
    are recomputed here with the same floating-point sums, so only those characters
    match them exactly.
    """
    chars = {piece: score for piece, score in pieces if len(piece) == 1}
    if not chars:
        return set()
    lowest = min(score for _, score in pieces)
    ladder, penalty = set(), 0.0
    for _ in range(len(chars)):
        ladder.add(lowest + penalty)
        penalty += _UNIGRAM_CHAR_PENALTY
    return {piece for piece, score in chars.items() if score in ladder}


def canonical_unigram(tokenizer: Tokenizer, n_specials: int) -> models.Unigram:
    """The trained unigram model with its scores made canonical and its pieces in a fixed order.

    HF's ``UnigramTrainer`` iterates hash maps whose order changes from one process to
    the next: its sums of expectations differ in their last bits, the characters it
    adds back at the end get scores ``min + k * 0.0001`` in that order, and pieces of
    equal score get their ids in that order. Here those characters all get ``min``, every
    score is rounded to ``_UNIGRAM_DECIMALS`` decimals, and the pieces are ordered by
    score, then by the piece itself: the same ids and segmentations in every process.
    The special tokens keep the first ids.
    """
    state = json.loads(tokenizer.to_str())["model"]
    specials = [(piece, score) for piece, score in state["vocab"][:n_specials]]
    learnt = [(piece, score) for piece, score in state["vocab"][n_specials:]]
    if learnt:
        readded, lowest = _readded_chars(learnt), min(score for _, score in learnt)
        learnt = [(piece, lowest if piece in readded else score) for piece, score in learnt]
    learnt = [(piece, round(score, _UNIGRAM_DECIMALS)) for piece, score in learnt]
    learnt.sort(key=lambda item: (-item[1], item[0]))
    return models.Unigram(specials + learnt, unk_id=state["unk_id"], byte_fallback=False)
