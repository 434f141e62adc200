"""X's text rules: twitter-text v3 weighting (280, URLs 23, Devanagari per code point) and threads.

A text over the limit becomes a thread: split at sentence ends, then at spaces, then — only for a
single run longer than a whole post — between characters (never inside a combining sequence), each
part numbered "(i/n)" and within the limit. Nothing is dropped or reordered: the slices concatenate
back to the text exactly.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_WEIGHT = 280
MAX_THREAD_PARTS = 25
# A sentence ends at . ! ? । ॥ followed by white space (so "example.org" is not an end), or at a line break.
_SENTENCE = re.compile(r".+?(?:[.!?।॥]+(?:\s+|$)|\n+|$)", re.DOTALL)
_WORD = re.compile(r"\S+\s*|\s+")
_CLUSTER = re.compile(r".[\u0300-\u036f\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963\u200c\u200d\ufe0f]*",
                      re.DOTALL)


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
    """Sentences; a sentence over the budget in words; a word over the budget in character clusters."""
    units: list[str] = []
    for sentence in (s for s in _SENTENCE.findall(text) if s):
        if weighted_length(sentence.strip()) <= budget:
            units.append(sentence)
            continue
        for word in _WORD.findall(sentence):
            if weighted_length(word.strip()) <= budget:
                units.append(word)
            else:
                units.extend(_CLUSTER.findall(word))
    return units
