import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.x_text import MAX_WEIGHT, normalise, split_thread, thread_slices, weighted_length


def test_weighting_follows_twitter_text_v3():
    assert weighted_length("भारत जोड़ो अभियान") == 17  # Devanagari: one per code point, matras included
    assert weighted_length("hello https://example.org/a/very/long/path/indeed") == 6 + 23
    assert weighted_length("日本") == 4  # CJK weighs two
    assert weighted_length("👍🏽") == 2  # an emoji sequence counts once, at the default weight


def test_a_short_text_stays_one_post():
    assert split_thread("  सहाड़ा में नया महाविद्यालय  ") == ["सहाड़ा में नया महाविद्यालय"]


def test_a_long_text_splits_at_sentence_ends_first():
    sentences = [f"वाक्य संख्या {n} में सहाड़ा के विकास की बात है।" for n in range(20)]
    parts = split_thread(" ".join(sentences))
    assert len(parts) > 1
    assert all(weighted_length(p) <= MAX_WEIGHT for p in parts)
    assert all(p.endswith(f"({i}/{len(parts)})") for i, p in enumerate(parts, 1))
    assert all(p.rsplit(" (", 1)[0].endswith("है।") for p in parts), "every cut falls at a sentence end"


def test_a_sentence_longer_than_a_post_splits_between_words():
    text = " ".join(["word"] * 200)
    parts = split_thread(text)
    assert all(weighted_length(p) <= MAX_WEIGHT for p in parts)
    assert " ".join(p.rsplit(" (", 1)[0] for p in parts) == text


def test_a_word_longer_than_a_post_splits_without_breaking_a_letter():
    text = "क्षि" * 200  # consonant + virama + consonant + vowel sign, repeated with no space
    slices = thread_slices(text)
    assert "".join(slices) == text
    assert all(not unicodedata.category(s[0]).startswith("M") for s in slices), "no part starts with a mark"


def test_urls_are_never_cut():
    url = "https://example.org/" + "a" * 400
    text = "पढ़िए पूरी खबर. " * 30 + url + " और शेयर करें"
    parts = split_thread(text)
    assert sum(url in p for p in parts) == 1
    for n in range(1, 25):
        parts = split_thread("खबर. " * n + "देखें https://example.org/budget.html पर.")
        assert sum("https://example.org/budget.html" in p for p in parts) == 1
    assert all(weighted_length(p) <= MAX_WEIGHT for p in parts)


PIECES = list("abc xyz.!?\n") + list("सहाड़ामेंनयामहाविद्यालय।") + ["क्षि", "👍🏽", "日", " https://example.org/x "]
TEXT = st.lists(st.sampled_from(PIECES), max_size=900).map("".join)


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_every_part_fits_and_nothing_is_lost_or_reordered(text):
    slices = thread_slices(text)
    assert "".join(slices) == normalise(text)
    parts = split_thread(text)
    assert len(parts) == len(slices)
    assert all(weighted_length(p) <= MAX_WEIGHT for p in parts)
    if len(parts) > 1:
        for index, (part, raw) in enumerate(zip(parts, slices, strict=True), start=1):
            assert part == f"{raw.strip()} ({index}/{len(parts)})"
            assert raw.strip(), "no empty part"
