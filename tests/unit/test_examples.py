"""The committed examples are what the generator writes, and every one of them is accepted."""


import yaml

from chalicelib.domain.campaign import Campaign
from chalicelib.domain.manifest import MANIFEST_SUFFIXES, decode_document, parse_manifest, plan_posts
from chalicelib.domain.scope import split_scoped_key
from tools.example_campaign import ROOT, example_files


def test_examples_match_their_generator():
    generated = example_files()
    on_disk = {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in ROOT.rglob("*")
               if p.is_file() and p.name != "README.md"}
    assert set(on_disk) == set(generated), "run `make examples`"
    assert all(on_disk[k] == generated[k] for k in generated), "run `make examples`"


def test_every_example_manifest_is_accepted_with_its_media():
    campaign = Campaign.model_validate(yaml.safe_load((ROOT / "config/campaign.yaml").read_text("utf-8")))
    keys = {p.relative_to(ROOT).as_posix() for p in (ROOT / "content").rglob("*") if p.is_file()}
    manifests = sorted(k for k in keys if k.endswith(MANIFEST_SUFFIXES))
    assert len(manifests) > 100
    languages, shapes = set(), set()
    for key in manifests:
        manifest = parse_manifest(decode_document((ROOT / key).read_bytes(), key, 256 * 1024))
        posts = plan_posts(manifest, split_scoped_key(key), campaign, manifest.publish_at)
        assert posts, key
        for post in posts:
            assert {m["key"] for m in post.payload["media"]} <= keys, key
            text = post.payload.get("text") or ""
            languages.add("hi" if any("\u0900" <= ch <= "\u097f" for ch in text) else "en")
            kinds = {m["content_type"].split("/")[0] for m in post.payload["media"]}
            shapes |= {f"{post.account.platform}:{kind}" for kind in kinds}
            if len(post.payload.get("thread") or []) > 1:
                shapes.add("x:thread")
            if post.payload.get("template"):
                shapes.add("whatsapp:template")
    assert languages == {"hi", "en"}
    assert {"x:image", "x:video", "facebook:image", "facebook:video", "whatsapp:image", "x:thread",
            "whatsapp:template"} <= shapes, "the demo shows every kind of post"


def test_two_weeks_of_daily_content_for_every_constituency():
    for constituency in ("sahada", "vallabhnagar", "sujangarh", "rajsamand"):
        days = {p.name[:10] for p in (ROOT / "content/constituency" / constituency / "2021-03").glob("*.yaml")}
        assert len(days) == 14, constituency


def test_the_election_week_meets_the_silence_and_the_close_of_poll():
    names = {p.relative_to(ROOT).as_posix() for p in (ROOT / "content").rglob("2021-04-*.yaml")}
    assert "content/constituency/sahada/2021-04/2021-04-16-appeal.yaml" in names      # inside the silence
    assert "content/constituency/sahada/2021-04/2021-04-20-thanks.yaml" in names      # after the poll
    assert "content/constituency/vallabhnagar/2021-04/2021-04-16-appeal.yaml" in names  # its poll is in October


def test_a_daily_series_without_times():
    items = sorted((ROOT / "content/constituency/sahada/series").glob("*.yaml"))
    assert len(items) == 43
    assert all("publish_at" not in p.read_text("utf-8") and "series: vikas-gatha" in p.read_text("utf-8")
               for p in items)
