"""S3 upload handlers, invoked through chalice.test.Client with S3-shaped events."""

import json

import pytest

from chalicelib.domain.post import content_id_for

KEY = "content/constituency/sahada/2021-03/बजट घोषणा.yaml"
MANIFEST = "title: बजट घोषणा\ntext: सहाड़ा में नया महाविद्यालय\npublish_at: 2021-03-05T09:00:00\n"


def upload(world, client, key, body, handler="on_content_upload"):
    world.put(key, body)
    client.lambda_.invoke(handler, world.s3_event(key))


def post_view(world, key):
    return world.container.queries().post(content_id_for(key))


def test_a_devanagari_key_with_spaces_is_decoded_and_scheduled(active, client):
    upload(active, client, KEY, MANIFEST)
    view = post_view(active, KEY)
    assert view["scope"] == "constituency/sahada"
    assert {a["account_id"]: a["status"] for a in view["accounts"]} == {
        "fb-sahada": "scheduled", "wa-sahada": "scheduled", "x-sahada": "scheduled"}
    assert {a["due_at"] for a in view["accounts"]} == {"2021-03-05T03:30:00Z"}
    [entry] = active.container.store.activity_on(active.clock.now().date())[:1]
    assert entry.kind == "upload.accepted" and "3 post(s) scheduled for 2021-03-05 09:00 IST" in entry.message


def test_a_bad_config_never_replaces_a_good_one(active, client):
    upload(active, client, "config/campaign.yaml", "campaign: broken\ndistricts: []\n", handler="on_config_upload")
    assert active.container.campaigns.active().campaign == "test-bypolls"
    report = active.error_report("config/campaign.yaml")
    fields = {p["field"] for p in report["problems"]}
    assert {"districts", "constituencies"} <= fields
    assert "stays active" in report["summary"]


def test_config_upload_before_any_content_and_reupload_is_harmless(world, client, campaign_yaml):
    upload(world, client, "content/state/early.yaml", "title: t\ntext: x\n")
    assert "config/campaign.yaml first" in world.error_report("content/state/early.yaml")["problems"][0]["fix"]
    upload(world, client, "config/campaign.yaml", campaign_yaml, handler="on_config_upload")
    upload(world, client, "config/campaign.yaml", campaign_yaml, handler="on_config_upload")
    kinds = [e.kind for e in world.container.store.activity_on(world.clock.now().date(), newest_first=False)]
    assert kinds == ["upload.rejected", "config.activated", "config.unchanged"]


BAD_UPLOADS = [
    ("content/constituency/sahada/malformed.yaml", b"title: [oops\n", "(file)", "not valid YAML"),
    ("content/constituency/sahada/malformed.json", b'{"title": "t", }', "(file)", "not valid JSON"),
    ("content/constituency/sahada/types.yaml", b"title: t\ntext: x\nplatforms: facebook\npaid: perhaps\n",
     "paid", "boolean"),
    ("content/constituency/sahada/missing.yaml", b"text: no title here\n", "title", "Field required"),
    ("content/constituency/kota/unknown-scope.yaml", b"title: t\ntext: x\n", "(key)", "constituency/kota"),
    ("content/state/no-x-account.yaml", b"title: t\ntext: x\nplatforms: [x]\n", "platforms", "no x account"),
    ("content/constituency/sahada/missing-media.yaml",
     b"title: t\ntext: x\nplatforms: [facebook]\nmedia: [poster.jpg]\n", "media[0]", "not in the bucket"),
    ("content/constituency/sahada/latin1.yaml", "title: café\n".encode("latin-1"), "(file)", "not UTF-8"),
    ("content/constituency/sahada/empty.yaml", b"", "(file)", "empty"),
    ("content/constituency/sahada/huge.yaml", b"title: t\ntext: " + b"x" * 300_000 + b"\n", "(file)",
     "over the 262,144-byte limit"),
    ("content/nowhere.yaml", b"title: t\n", "(key)", "not under"),
]


@pytest.mark.parametrize("key, body, field, words", BAD_UPLOADS, ids=[k.rsplit("/", 1)[-1] for k, *_ in BAD_UPLOADS])
def test_bad_uploads_get_an_error_report_and_an_activity_entry(active, client, key, body, field, words):
    upload(active, client, key, body)
    report = active.error_report(key)
    problem = next(p for p in report["problems"] if p["field"] == field)
    assert words in problem["problem"]
    assert problem["fix"]
    assert active.read(key) == body, "the upload itself is never changed"
    entry = active.container.store.activity_on(active.clock.now().date())[0]
    assert (entry.kind, entry.level, entry.key) == ("upload.rejected", "error", key)
    assert post_view(active, key) is None


def test_media_is_accepted_once_uploaded_and_the_error_report_is_cleared(active, client):
    key = "content/constituency/sahada/poster-post.yaml"
    body = "title: t\ntext: x\nplatforms: [facebook, whatsapp]\nmedia: [poster.png]\n"
    upload(active, client, key, body)
    assert active.error_report(key) is not None
    active.put("content/constituency/sahada/poster.png", b"\x89PNG fake")
    upload(active, client, key, body + "series: budget-2021\n")
    assert active.error_report(key) is None
    assert {a["status"] for a in post_view(active, key)["accounts"]} == {"queued"}, "due now: queued by the upload"


def test_media_uploads_do_not_trigger_ingest(active, client):
    upload(active, client, "content/constituency/sahada/poster.png", b"\x89PNG")
    kinds = [e.kind for e in active.container.store.activity_on(active.clock.now().date())]
    assert kinds == ["config.activated"]


def test_same_bytes_again_change_nothing(active, client):
    upload(active, client, KEY, MANIFEST)
    upload(active, client, KEY, MANIFEST)
    view = post_view(active, KEY)
    assert view["revision"] == 1
    kinds = [e.kind for e in active.container.store.activity_on(active.clock.now().date(), newest_first=False)]
    assert kinds[-2:] == ["upload.accepted", "upload.unchanged"]


def test_changed_bytes_replace_unpublished_posts_and_withdraw_dropped_accounts(active, client):
    upload(active, client, KEY, MANIFEST)
    upload(active, client, KEY, MANIFEST.replace("09:00", "10:00") + "platforms: [facebook, x]\n")
    view = post_view(active, KEY)
    statuses = {a["account_id"]: (a["status"], a["due_at"], a["revision"]) for a in view["accounts"]}
    assert statuses == {"fb-sahada": ("scheduled", "2021-03-05T04:30:00Z", 2),
                        "x-sahada": ("scheduled", "2021-03-05T04:30:00Z", 2),
                        "wa-sahada": ("withdrawn", "2021-03-05T03:30:00Z", 1)}
    assert view["revision"] == 2


def test_an_error_report_is_readable_json_with_every_problem(active, client):
    key = "content/constituency/sahada/many-problems.yaml"
    upload(active, client, key, "text: [1, 2]\ncolour: red\nplatforms: [myspace]\n")
    report = active.error_report(key)
    assert report["key"] == key
    assert {p["field"] for p in report["problems"]} == {"title", "text", "colour", "platforms[0]"}
    assert json.dumps(report, ensure_ascii=False)
