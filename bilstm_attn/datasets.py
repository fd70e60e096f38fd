"""Corpora: the bundled ones the library generates itself.

``make_dates`` writes dates in many human formats with their ISO form, for the
translator.

``make_reviews`` writes short movie reviews from the library's own templates and word
lists (no third-party text). Most sentences are neutral filler (plot, cast, where it was
seen, neutral adjectives such as "slow" or "colourful" that occur equally under both
labels); one or two verdict sentences decide the label, through a positive or negative
word, sometimes negated ("the acting was not dull" is positive). Every review records
which of its words decide the label, so explanations can be checked against the truth.
"""

from __future__ import annotations

import datetime as dt
import string

import numpy as np
import pandas as pd

__all__ = ["REVIEW_CUES", "make_dates", "make_reviews"]

_POSITIVE = (
    "wonderful",
    "superb",
    "brilliant",
    "moving",
    "delightful",
    "gripping",
    "charming",
    "masterful",
    "stunning",
    "heartfelt",
    "hilarious",
    "touching",
)
_NEGATIVE = (
    "dull",
    "awful",
    "tedious",
    "clumsy",
    "forgettable",
    "boring",
    "lifeless",
    "painful",
    "incoherent",
    "bland",
    "dreadful",
    "shallow",
)
REVIEW_CUES = {"positive": _POSITIVE, "negative": _NEGATIVE}
"""The words that carry each label's sentiment in :func:`make_reviews`."""

_SLOTS = {
    "aspect": (
        "acting",
        "plot",
        "script",
        "soundtrack",
        "ending",
        "dialogue",
        "pacing",
        "cinematography",
        "cast",
        "direction",
        "story",
        "editing",
    ),
    "noun": ("film", "movie", "picture", "drama", "comedy", "thriller", "story"),
    "name": (
        "Anna Berg",
        "Tomas Reyes",
        "Mina Park",
        "Jules Okafor",
        "Lena Horvat",
        "Sam Whitfield",
        "Priya Nair",
        "Omar Haddad",
        "Ines Duarte",
        "Kenji Mori",
    ),
    "place": (
        "cinema downtown",
        "old theatre",
        "festival",
        "drive-in",
        "airport lounge",
        "library",
        "community hall",
    ),
    "city": ("Lisbon", "Seoul", "Chicago", "Nairobi", "Oslo", "Lima", "Kraków", "Osaka"),
    "day": ("monday", "rainy sunday", "friday night", "holiday", "long weekend"),
    "relative": ("brother", "sister", "father", "grandmother", "cousin", "best friend"),
    "job": ("nurse", "pilot", "teacher", "detective", "baker", "journalist", "farmer"),
    "neutral": (
        "long",
        "quiet",
        "colourful",
        "loud",
        "slow",
        "fast",
        "dark",
        "familiar",
        "unusual",
        "short",
        "old-fashioned",
        "modern",
    ),
    "instrument": ("piano", "strings", "drums", "synthesizers", "brass", "guitar"),
    "number": ("ninety", "ninety-five", "one hundred and ten", "two hundred", "eighty"),
}

_FILLERS = (
    "I saw it at the {place} on a {day} with my {relative}.",
    "The {noun} runs {number} minutes and stars {name}.",
    "It was directed by {name} and shot in {city}.",
    "The story follows a {job} who moves to {city}.",
    "{name} plays the {job} and {name2} plays the {relative}.",
    "The {aspect} comes up again near the end.",
    "There is a long scene set in a {place}.",
    "The soundtrack uses a lot of {instrument}.",
    "The {aspect} is {neutral} and the {aspect2} is {neutral2}.",
    "Most of it takes place in {city} during one {day}.",
    "My {relative} had read about the {noun} before we went.",
)

_FORMATTER = string.Formatter()

# "{cue}" marks the deciding word; "{not}" marks a negation that flips it.
_VERDICTS = (
    "The {aspect} was {cue}.",
    "I found the {aspect} {cue}.",
    "What a {cue} {noun}!",
    "Overall a {cue} {noun}.",
    "Honestly, it was {cue} from start to finish.",
    "The {aspect} felt {cue} to me.",
)
_NEGATED = (
    "The {aspect} was {not} {cue}.",
    "It is {not} a {cue} {noun} at all.",
    "I would {not} call the {aspect} {cue}.",
)


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def _fill(template: str, rng: np.random.Generator, cue: str = "") -> tuple[list[str], list[int]]:
    """Fill a template; return its words and the positions of the deciding words."""
    values = {"cue": "\x00cue", "not": "\x00not"}
    for _, field, _, _ in _FORMATTER.parse(template):
        if field and field not in values:
            options = _SLOTS[field.rstrip("2")]
            values[field] = options[int(rng.integers(len(options)))]
    words = template.format(**values).split()
    deciding = [i for i, word in enumerate(words) if "\x00" in word]
    words = [word.replace("\x00cue", cue).replace("\x00not", "not") for word in words]
    return words, deciding


def make_reviews(
    n_samples: int = 5000, *, negation_rate: float = 0.25, random_state: int = 0
) -> pd.DataFrame:
    """Generate labelled movie reviews whose deciding words are known.

    Parameters
    ----------
    n_samples : int, default=5000
        Number of reviews; the labels are balanced.
    negation_rate : float, default=0.25
        Chance that a verdict is negated ("not dull" -> positive).
    random_state : int, default=0
        Seed; the same seed gives the same corpus.

    Returns
    -------
    DataFrame with columns
        ``text`` (str), ``label`` ("positive" or "negative") and ``rationale``: the
        positions, in ``text.split()``, of the words that decide the label (the
        sentiment words and any "not" that flips them).

    Examples
    --------
    >>> df = make_reviews(4, random_state=1)
    >>> sorted(df.columns)
    ['label', 'rationale', 'text']
    >>> row = df.iloc[0]
    >>> words = row.text.split()
    >>> all(w.strip(".!,").lower() in {"not", *REVIEW_CUES["positive"], *REVIEW_CUES["negative"]}
    ...     for w in (words[i] for i in row.rationale))
    True
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
    rng = np.random.default_rng(random_state)
    labels = np.array(["positive", "negative"] * (n_samples // 2 + 1))[:n_samples]
    rng.shuffle(labels)
    rows = []
    for label in labels:
        flip = {"positive": "negative", "negative": "positive"}
        sentences = [_fill(_pick(_FILLERS, rng), rng) for _ in range(rng.integers(2, 6))]
        for _ in range(rng.integers(1, 3)):
            if rng.random() < negation_rate:
                verdict = _fill(_pick(_NEGATED, rng), rng, _pick(REVIEW_CUES[flip[label]], rng))
            else:
                verdict = _fill(_pick(_VERDICTS, rng), rng, _pick(REVIEW_CUES[label], rng))
            sentences.insert(int(rng.integers(0, len(sentences) + 1)), verdict)
        words: list[str] = []
        deciding: list[int] = []
        for sentence_words, positions in sentences:
            deciding += [len(words) + p for p in positions]
            words += sentence_words
        rows.append((" ".join(words), str(label), deciding))
    return pd.DataFrame(rows, columns=["text", "label", "rationale"])


_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_KO_WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# Each format renders a date; numeric formats follow one fixed convention each, so that
# every source has one reading: "/" is month/day/year (US) or year/month/day, "." and "-"
# are day.month.year, two-digit years mean 1930-2029.
_DATE_FORMATS = (
    lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{_MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    lambda d: f"{d.day} {_MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{d.day} {_MONTHS[d.month - 1][:3]} {d.year}",
    lambda d: f"{_WEEKDAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{_WEEKDAYS[d.weekday()][:3]}, {d.day} {_MONTHS[d.month - 1][:3]} {d.year}",
    lambda d: f"{_MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}",
    lambda d: f"the {_ordinal(d.day)} of {_MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{d.month}/{d.day}/{d.year}",
    lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    lambda d: f"{d.day}.{d.month}.{d.year}",
    lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}",
    lambda d: f"{d.year}년 {d.month}월 {d.day}일",
    lambda d: f"{d.year}년 {d.month}월 {d.day}일 {_KO_WEEKDAYS[d.weekday()]}요일",
    lambda d: f"{d.year}. {d.month}. {d.day}.",
)


def _case(text: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    if roll < 0.6:
        return text
    if roll < 0.8:
        return text.upper()
    return text.title()


def make_dates(n_samples: int = 20000, *, random_state: int = 0) -> pd.DataFrame:
    """Generate human-written dates and their ISO form, for training translators.

    Dates from 1930-01-01 to 2029-12-31 are written in 18 formats: month names and
    abbreviations, ordinals ("the 3rd of may 1999"), weekdays, numeric dates with "/",
    "." or "-", two-digit years, and Korean ("2019년 3월 7일 목요일"); in lower, upper or
    title case. Each numeric format follows one convention (see the source), so every
    date has exactly one reading.

    Parameters
    ----------
    n_samples : int, default=20000
    random_state : int, default=0

    Returns
    -------
    DataFrame with columns ``source`` (the written date) and ``target`` ("YYYY-MM-DD").

    Examples
    --------
    >>> df = make_dates(3, random_state=0)
    >>> list(df.columns)
    ['source', 'target']
    >>> all(len(t) == 10 and t[4] == t[7] == "-" for t in df["target"])
    True
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
    rng = np.random.default_rng(random_state)
    first = dt.date(1930, 1, 1).toordinal()
    span = dt.date(2029, 12, 31).toordinal() - first + 1
    rows = []
    for _ in range(n_samples):
        date = dt.date.fromordinal(first + int(rng.integers(span)))
        fmt = _DATE_FORMATS[int(rng.integers(len(_DATE_FORMATS)))]
        rows.append((_case(fmt(date), rng), date.isoformat()))
    return pd.DataFrame(rows, columns=["source", "target"])
