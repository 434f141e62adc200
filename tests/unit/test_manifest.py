from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from chalicelib.domain.campaign import Campaign
from chalicelib.domain.manifest import decode_document, parse_manifest, plan_posts
from chalicelib.domain.scope import split_scoped_key
from chalicelib.errors import InvalidContentError

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = Campaign.model_validate(yaml.safe_load((ROOT / "tests/support/campaign.yaml").read_text("utf-8")))
NOW = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)
KEY = "content/constituency/sahada/2021-03/day1.yaml"


def plan(document, key=KEY):
    return plan_posts(parse_manifest(document), split_scoped_key(key), CAMPAIGN, NOW)


def rejected(document, key=KEY):
    with pytest.raises(InvalidContentError) as caught:
        plan(document, key)
    return caught.value.problems


def decode_fails(raw, key=KEY, limit=1024):
    with pytest.raises(InvalidContentError) as caught:
        decode_document(raw, key, limit)
    [problem] = caught.value.problems
    return problem


def test_one_post_per_account_of_the_scope_by_default():
    posts = plan({"title": "बजट", "text": "सहाड़ा में नया महाविद्यालय"})
    assert sorted(p.account.id for p in posts) == ["fb-sahada", "wa-sahada", "x-sahada"]
    assert all(p.due_at == NOW for p in posts)
    assert next(p for p in posts if p.account.platform == "whatsapp").payload["audience"] == "team"


def test_platforms_twitter_alias_overrides_and_ist_default():
    posts = plan({"title": "t", "text": "long Hindi text", "platforms": ["twitter", "facebook"],
                  "publish_at": datetime(2021, 3, 5, 9, 0), "overrides": {"twitter": {"text": "short"}}})
    by_platform = {p.account.platform: p for p in posts}
    assert set(by_platform) == {"x", "facebook"}
    assert by_platform["x"].payload["text"] == "short"
    assert by_platform["facebook"].payload["text"] == "long Hindi text"
    assert by_platform["x"].due_at == datetime(2021, 3, 5, 3, 30, tzinfo=UTC)


def test_text_may_come_only_from_overrides():
    posts = plan({"title": "t", "platforms": ["x"], "overrides": {"x": {"text": "only for X"}}})
    assert posts[0].payload["text"] == "only for X"
    problems = rejected({"title": "t", "platforms": ["x", "facebook"], "overrides": {"x": {"text": "only X"}}})
    assert [(p.field, p.message) for p in problems] == [("text", "no text for facebook")]


def test_whatsapp_templates_are_carried_with_their_parameters():
    posts = plan({"title": "t", "platforms": ["whatsapp"], "overrides": {"whatsapp": {
        "template": "budget_update", "language": "hi", "params": ["सहाड़ा", 2021]}}})
    assert posts[0].payload["template"] == {"name": "budget_update", "language": "hi", "params": ["सहाड़ा", "2021"]}


@pytest.mark.parametrize("document, field, words", [
    ({"text": "no title"}, "title", "Field required"),
    ({"title": "t", "text": ["a", "list"]}, "text", "valid string"),
    ({"title": "t", "text": "x", "platforms": ["myspace"]}, "platforms[0]", "facebook"),
    ({"title": "t", "text": "x", "publish_at": "next tuesday"}, "publish_at", "datetime"),
    ({"title": "t", "text": "x", "colour": "red"}, "colour", "Extra inputs"),
    ({"title": "t", "text": "x", "link": "example.org"}, "link", "not a web link"),
    ({"title": "t", "text": "x", "paid": "maybe"}, "paid", "boolean"),
    ({"title": "", "text": "x"}, "title", "at least 1"),
])
def test_field_errors_name_the_field_and_a_fix(document, field, words):
    with pytest.raises(InvalidContentError) as caught:
        parse_manifest(document)
    problem = next(p for p in caught.value.problems if p.field == field)
    assert words in problem.message
    assert problem.fix


def test_a_platform_without_an_account_in_the_scope_is_refused():
    problems = rejected({"title": "t", "text": "x", "platforms": ["x"]}, key="content/state/post.yaml")
    assert problems[0].field == "platforms"
    assert "state has no x account" in problems[0].message
    assert "config/campaign.yaml" in problems[0].fix


def test_a_scope_not_in_the_campaign_is_refused():
    problems = rejected({"title": "t", "text": "x"}, key="content/constituency/kota/post.yaml")
    assert problems[0].field == "(key)"
    assert "constituency/kota" in problems[0].message


def test_media_must_stay_in_scope_and_be_a_known_type():
    problems = rejected({"title": "t", "text": "x", "platforms": ["facebook"],
                         "media": ["../../../state/logo.png", "notes.docx"]})
    assert [p.field for p in problems] == ["media[0]", "media[1]"]


def test_media_keys_and_types_are_carried_for_every_platform():
    posts = plan({"title": "t", "text": "x", "media": ["poster.png"]})
    assert {p.account.platform for p in posts} == {"facebook", "x", "whatsapp"}
    assert posts[0].payload["media"] == [{"key": "content/constituency/sahada/2021-03/poster.png",
                                          "content_type": "image/png"}]


def test_whatsapp_templates_are_checked_against_the_approved_list():
    document = yaml.safe_load((ROOT / "tests/support/campaign.yaml").read_text("utf-8"))
    document["whatsapp_templates"] = [{"name": "budget_update", "params": 2}]
    campaign = Campaign.model_validate(document)

    def problems(override):
        with pytest.raises(InvalidContentError) as caught:
            plan_posts(parse_manifest({"title": "t", "platforms": ["whatsapp"], "overrides": {"whatsapp": override}}),
                       split_scoped_key(KEY), campaign, NOW)
        return caught.value.problems

    assert problems({"template": "budget_updates", "params": ["a", "b"]})[0].field == "overrides.whatsapp.template"
    assert "takes 2" in problems({"template": "budget_update", "params": ["a"]})[0].message
    ok = plan_posts(parse_manifest({"title": "t", "platforms": ["whatsapp"], "overrides": {"whatsapp": {
        "template": "budget_update", "params": ["a", "b"]}}}), split_scoped_key(KEY), campaign, NOW)
    assert ok[0].payload["template"]["name"] == "budget_update"


def test_a_broadcast_to_subscribers_needs_a_template():
    problems = rejected({"title": "t", "text": "x", "overrides": {"whatsapp": {"audience": "subscribers"}}})
    assert problems[0].field == "overrides.whatsapp.template" and "131047" in problems[0].message


def test_an_override_for_a_platform_not_targeted_is_refused():
    problems = rejected({"title": "t", "text": "x", "platforms": ["facebook"], "overrides": {"x": {"text": "y"}}})
    assert problems[0].field == "overrides.x"


@pytest.mark.parametrize("raw, words", [
    (b"", "empty"),
    (b"  \n\n", "empty"),
    (b"title: [unclosed\n", "not valid YAML"),
    (b"title: t\n  text: bad indent\n", "not valid YAML"),
    (b"- a\n- list\n", "not a mapping"),
    (b"just words", "not a mapping"),
    ("title: सहाड़ा".encode("utf-16"), "not UTF-8"),
    (b"title: \xff\xfe bad", "not UTF-8"),
    (b"x" * 2000, "over the 1,024-byte limit"),
])
def test_unreadable_files_say_what_is_wrong(raw, words):
    problem = decode_fails(raw)
    assert words in problem.message
    assert problem.field == "(file)"


def test_json_errors_point_at_line_and_column():
    problem = decode_fails(b'{"title": "t",\n "text": }', key="content/state/p.json")
    assert "line 2" in problem.message


def test_a_utf8_bom_is_accepted():
    assert decode_document("\ufefftitle: सहाड़ा\n".encode(), KEY, 1024) == {"title": "सहाड़ा"}


def test_a_long_text_for_x_becomes_a_numbered_thread_with_the_link_in_it():
    sentence = "राज्य बजट 2021-22 में सहाड़ा विधानसभा क्षेत्र के लिए नई घोषणाएँ की गई हैं। "
    posts = plan({"title": "t", "text": sentence * 12, "link": "https://example.org/b", "platforms": ["x"]})
    thread = posts[0].payload["thread"]
    assert len(thread) > 1
    assert thread[0].endswith(f"(1/{len(thread)})")
    assert "https://example.org/b" in thread[-1]
    assert posts[0].payload["link"] is None


def test_a_thread_longer_than_25_posts_is_refused_at_the_field_that_made_it():
    problems = rejected({"title": "t", "text": "short", "overrides": {"x": {"text": "शब्द " * 2000}}})
    assert problems[0].field == "overrides.x.text"
    assert "thread of" in problems[0].message
