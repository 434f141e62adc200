import pytest

from chalicelib.domain.media_rules import MB, media_problems


def item(name, kind):
    return {"key": f"content/state/{name}", "content_type": kind}


POSTER, CLIP = item("poster.png", "image/png"), item("rally.mp4", "video/mp4")


def test_what_fits_everywhere_passes():
    assert media_problems(["facebook", "x", "whatsapp"], [POSTER], {POSTER["key"]: 300_000}) == []
    assert media_problems(["facebook", "x", "whatsapp"], [CLIP], {CLIP["key"]: 10 * MB}) == []


def test_missing_media_is_named_first():
    [problem] = media_problems(["facebook"], [POSTER], {POSTER["key"]: None})
    assert (problem.field, problem.fix.split(",")[0]) == ("media[0]", "upload the media file first")


@pytest.mark.parametrize("platforms, size, words", [
    (["whatsapp"], 17 * MB, "whatsapp takes at most 16 MB"),
    (["x"], 600 * MB, "x takes at most 512 MB"),
])
def test_size_limits_per_platform(platforms, size, words):
    [problem] = media_problems(platforms, [CLIP], {CLIP["key"]: size})
    assert words in problem.message and problem.field == "media[0]"


def test_counts_and_types_per_platform():
    images = [item(f"p{n}.png", "image/png") for n in range(5)]
    sizes = {m["key"]: 1000 for m in images}
    assert media_problems(["x"], images[:4], sizes) == []
    assert "at most 4 image(s)" in media_problems(["x"], images, sizes)[0].message
    assert media_problems(["facebook"], images[:2], sizes)[0].field == "media"
    webp = item("p.webp", "image/webp")
    [problem] = media_problems(["whatsapp"], [webp], {webp["key"]: 1000})
    assert "does not accept image/webp" in problem.message
