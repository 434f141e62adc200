"""X's text rules: twitter-text v3 weighting (280, URLs 23, Devanagari per code point) and threads.

A text over the limit becomes a thread: split at sentence ends, then at spaces, then — only for a
single run longer than a whole post — between user-perceived characters, each part numbered "(i/n)" and
within the limit. Nothing is dropped or reordered: the slices concatenate back to the text exactly.

Every cut falls on an extended grapheme cluster boundary (Unicode UAX #29, as the `regex` package's `\\X`
implements it): an emoji ZWJ sequence (a family: four emoji joined by ZWJ), a flag (a regional indicator
pair), an emoji with its skin-tone modifier, a Devanagari conjunct with its virama, nukta, ZWJ and matras,
a letter with its combining marks all stay whole. A sentence or word boundary inside a cluster (a space
followed by a combining mark) is not a place to cut. The one exception: a single cluster heavier than a
whole post (hundreds of stacked marks, or a ZWJ chain no platform draws as one glyph) cannot be posted
whole, so it alone is cut between code points.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from functools import lru_cache
from itertools import pairwise

MAX_WEIGHT = 280
MAX_THREAD_PARTS = 25
# A sentence ends at . ! ? । ॥ followed by white space (so "example.org" is not an end), or at a line break.
_SENTENCE = re.compile(r".+?(?:[.!?।॥]+(?:\s+|$)|\n+|$)", re.DOTALL)
_WORD = re.compile(r"\S+\s*|\s+")


def weighted_length(text: str) -> int:
    return _parse(text).weightedLength


@lru_cache(maxsize=4096)
def _parse(text: str):
    from twitter_text import parse_tweet  # deferred: compiling its URL patterns costs ~0.2 s

    return parse_tweet(text)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()


def thread_slices(text: str) -> list[str]:
    """The text cut into consecutive slices, each short enough to post with its "(i/n)" number."""
    text = normalise(text)
    if weighted_length(text) <= MAX_WEIGHT:
        return [text]
    for most in (9, 99, 999):
        slices = _pack(text, MAX_WEIGHT - len(f" ({most}/{most})"))
        if len(slices) <= most:
            return slices
    raise ValueError("text too long to thread")


def split_thread(text: str) -> list[str]:
    slices = thread_slices(text)
    if len(slices) == 1:
        return slices
    return [f"{part.strip()} ({index}/{len(slices)})" for index, part in enumerate(slices, start=1)]


def _pack(text: str, budget: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for unit in _units(text, budget):
        if current and weighted_length((current + unit).strip()) > budget:
            parts.append(current)
            current = ""
        current += unit
    if current:
        if current.strip() or not parts:
            parts.append(current)
        else:
            parts[-1] += current  # trailing whitespace belongs to the last part
    return parts


def _units(text: str, budget: int) -> list[str]:
    """Sentences; a sentence over the budget in words; a word over the budget in grapheme clusters."""
    cuts = _grapheme_cuts(text)
    allowed = set(cuts)
    units: list[str] = []
    for start, end in _spans(_SENTENCE, text, 0, len(text), allowed):
        sentence = text[start:end]
        if weighted_length(sentence.strip()) <= budget:
            units.append(sentence)
            continue
        for word_start, word_end in _spans(_WORD, text, start, end, allowed):
            word = text[word_start:word_end]
            if weighted_length(word.strip()) <= budget:
                units.append(word)
                continue
            inner = cuts[bisect_left(cuts, word_start):bisect_right(cuts, word_end)]
            for a, b in pairwise(inner):
                cluster = text[a:b]
                units.extend([cluster] if weighted_length(cluster.strip()) <= budget else list(cluster))
    return units


def _grapheme_cuts(text: str) -> list[int]:
    """Offsets where one extended grapheme cluster ends and the next begins, 0 and len(text) included."""
    import regex  # deferred: ~30 ms of import that only a text longer than a post needs

    return [match.start() for match in regex.finditer(r"\X", text)] + [len(text)]


def _spans(pattern: re.Pattern[str], text: str, start: int, end: int, allowed: set[int]) -> list[tuple[int, int]]:
    """The pattern's consecutive matches in text[start:end]; a match that would begin inside a grapheme
    cluster (a space, then a combining mark) is glued to the one before it."""
    spans: list[tuple[int, int]] = []
    for match in pattern.finditer(text, start, end):
        if not match.group():
            continue
        if spans and match.start() not in allowed:
            spans[-1] = (spans[-1][0], match.end())
        else:
            spans.append(match.span())
    return spans
