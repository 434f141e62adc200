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


# Grapheme clusters (UAX #29). Escapes, not literals, so every joiner and modifier is visible in review.
FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466"  # man ZWJ woman ZWJ girl ZWJ boy
RAINBOW_FLAG = "\U0001F3F3\ufe0f\u200d\U0001F308"
INDIA, NEPAL_RI = "\U0001F1EE\U0001F1F3", ["\U0001F1F3", "\U0001F1F5"]  # a flag; two loose regional indicators
THUMBS_DARK = "\U0001F44D\U0001F3FF"
WAVE_MEDIUM = "\U0001F44B\U0001F3FD"
KSHA = "\u0915\u094d\u0937"  # क + virama + ष: one conjunct
ZA_NUKTA = "\u091c\u093c\u094d\u092f\u093e"  # ज + nukta + virama + य + aa matra
KSHA_ZWJ = "\u0915\u094d\u200d\u0937"  # explicit half form
KSHA_ZWNJ = "\u0915\u094d\u200c\u0937"  # ZWNJ breaks the conjunct: two clusters by UAX #29
E_MARKS = "e\u0301\u0323"  # e + acute + dot below


def clusters(text):
    import regex

    return regex.findall(r"\X", text)


def cuts_of(slices):
    offsets, at = [], 0
    for part in slices[:-1]:
        at += len(part)
        offsets.append(at)
    return offsets


def test_the_sample_clusters_are_what_unicode_says():
    for whole in (FAMILY, RAINBOW_FLAG, INDIA, THUMBS_DARK, KSHA, ZA_NUKTA, KSHA_ZWJ, E_MARKS, "क्षि"):
        assert clusters(unicodedata.normalize("NFC", whole)) == [unicodedata.normalize("NFC", whole)], repr(whole)
    assert clusters(KSHA_ZWNJ) == ["\u0915\u094d\u200c", "\u0937"]
    assert clusters(" \u0301") == [" \u0301"], "a space takes a following combining mark"


def test_a_run_of_family_emoji_longer_than_a_post_splits_between_families():
    text = FAMILY * 200
    slices = thread_slices(text)
    assert len(slices) > 1 and "".join(slices) == text
    assert all(len(s) % len(FAMILY) == 0 and s == FAMILY * (len(s) // len(FAMILY)) for s in slices)
    assert all(weighted_length(p) <= MAX_WEIGHT for p in split_thread(text))


def test_flags_skin_tones_and_conjuncts_in_long_runs_stay_whole():
    for unit in (INDIA, THUMBS_DARK, WAVE_MEDIUM, RAINBOW_FLAG, KSHA, ZA_NUKTA, KSHA_ZWJ, "क्षि", E_MARKS):
        text = normalise(unit * 400)
        unit = normalise(unit)
        slices = thread_slices(text)
        assert len(slices) > 1 and "".join(slices) == text
        assert all(s == unit * (len(s) // len(unit)) for s in slices), repr(unit)
        assert all(weighted_length(p) <= MAX_WEIGHT for p in split_thread(text))


def test_a_space_before_a_combining_mark_is_no_place_to_cut():
    text = normalise(("x" * 30 + " \u0301") * 40)  # every word boundary falls inside a " \u0301" cluster
    slices = thread_slices(text)
    assert "".join(slices) == text
    boundaries = set(cuts_of(clusters(text)) + [0, len(text)])
    assert set(cuts_of(slices)) <= boundaries


def test_a_single_cluster_heavier_than_a_post_is_the_one_thing_cut_inside():
    text = "a" + "\u0300\u0301" * 200  # one cluster of 401 code points
    assert len(clusters(normalise(text))) == 1
    slices = thread_slices(text)
    assert "".join(slices) == normalise(text)
    assert all(weighted_length(p) <= MAX_WEIGHT for p in split_thread(text))


CLUSTER_PIECES = [FAMILY, RAINBOW_FLAG, INDIA, *NEPAL_RI, THUMBS_DARK, WAVE_MEDIUM, "\U0001F3FD", "\u200d", "\u200c",
                  "\ufe0f", KSHA, ZA_NUKTA, KSHA_ZWJ, KSHA_ZWNJ, "\u094d", "\u093c", "\u093f", "\u0902", "क", "ष",
                  E_MARKS, "\u0301", "\u0323", "\u0308", "a", "o"]
SEPARATORS = [" ", "  ", ".", ". ", "\n", "। ", "? "]
# Runs of clusters long enough to need cutting between clusters, joined by the places sentences and words end.
MOTIF = st.lists(st.sampled_from(CLUSTER_PIECES), min_size=1, max_size=6).map("".join)
RUN = st.one_of(st.lists(st.sampled_from(CLUSTER_PIECES), min_size=1, max_size=200).map("".join),
                st.tuples(MOTIF, st.integers(1, 90)).map(lambda motif: motif[0] * motif[1]))
CLUSTER_TEXT = st.lists(st.tuples(RUN, st.sampled_from(SEPARATORS)), min_size=1, max_size=3).map(
    lambda runs: "".join(run + sep for run, sep in runs))
SMALLEST_BUDGET = MAX_WEIGHT - len(" (999/999)")


def spans_of(whole):
    spans, at = [], 0
    for cluster in whole:
        spans.append((at, at + len(cluster)))
        at += len(cluster)
    return spans


@settings(max_examples=150, deadline=None)
@given(CLUSTER_TEXT)
def test_no_part_boundary_falls_inside_a_grapheme_cluster(text):
    text = normalise(text)
    slices = thread_slices(text)
    assert "".join(slices) == text
    spans = spans_of(clusters(text))
    starts = {a for a, _ in spans} | {len(text)}
    # the documented exception: a cluster heavier than a whole post may be cut inside (never seen in real text)
    heavy = [(a, b) for a, b in spans if 2 * (b - a) > SMALLEST_BUDGET and weighted_length(text[a:b]) > SMALLEST_BUDGET]
    for cut in cuts_of(slices):
        assert cut in starts or any(a < cut < b for a, b in heavy), (cut, text)
    parts = split_thread(text)
    assert len(parts) == len(slices)
    assert all(weighted_length(p) <= MAX_WEIGHT for p in parts)
    if len(parts) > 1:
        for index, (part, raw) in enumerate(zip(parts, slices, strict=True), start=1):
            assert part == f"{raw.strip()} ({index}/{len(parts)})"
