"""Media on a post's calls, and re-uploads that would leave an account nothing to send: each call carries its own
media (a thread's go with its first part), and a re-upload whose every call was made with an earlier revision is
not placed as if it would go out — the uploader is told, in the upload's activity entry, to upload a follow-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from chalicelib.domain.post import PostStatus
from local.sandbox import Fault
from tests.functional.test_exactly_once import LONG_TEXT, published_kit, recipients, reupload
from tests.functional.test_failure_classes import accepted, post_of, run_clock, schedule
from tests.functional.test_review_findings import partial_thread

MEMBER_1, MEMBER_2 = "919000000101", "919000000102"


def upload_entries(world, day=date(2021, 3, 5)):
    return [e for e in world.container.store.activity_on(day) if e.kind.startswith("upload.")]


def published_entries(world, day):
    return [e for e in world.container.store.activity_on(day) if e.kind == "post.published"]


def with_photo(world, client, name, platforms):
    """A post with one photo, uploaded and run at its time."""
    key = f"content/constituency/sahada/{name}.yaml"
    world.put("content/constituency/sahada/photo.jpg", b"\xff\xd8\xff\xe0" + b"0" * 2000)
    world.put(key, f"title: p\ntext: सहाड़ा में नई सड़क\nplatforms: [{platforms}]\nmedia: [photo.jpg]\n"
                   "publish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", world.s3_event(key))
    run_clock(world, client, "2021-03-05T09:00:00+05:30")
    return key


def test_a_photo_goes_with_facebook_s_one_call_and_with_each_member_s_kit(active, client):
    key = with_photo(active, client, "photo-all", "facebook, whatsapp")
    assert post_of(active, key, "facebook").status is PostStatus.PUBLISHED
    assert post_of(active, key, "whatsapp").status is PostStatus.PUBLISHED
    facebook = accepted(active, "facebook")
    assert len(facebook) == 1 and facebook[0]["path"].endswith("/photos"), [r["path"] for r in facebook]
    kits = [r["body"] for r in accepted(active, "whatsapp")]
    assert sorted(k["to"] for k in kits) == [MEMBER_1, MEMBER_2]
    assert all(k["type"] == "image" and k["image"]["link"] for k in kits), kits


def test_a_single_x_post_with_a_photo_carries_it(active, client):
    with_photo(active, client, "photo-one", "x")
    tweets = [r["body"] for r in accepted(active, "x") if r["path"] == "/2/tweets"]
    assert len(tweets) == 1 and tweets[0].get("media", {}).get("media_ids"), tweets


def test_a_re_upload_after_the_facebook_post_was_published_is_reported_as_not_replaced(active, client):
    key = schedule(active, client, "facebook")
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert post_of(active, key, "facebook").status is PostStatus.PUBLISHED
    reupload(active, client, key, "सुधार — सहाड़ा में नया पुल", when="2021-03-05T10:00:00+05:30",
             platform="facebook")
    post = post_of(active, key, "facebook")
    assert (post.status, post.revision) == (PostStatus.PUBLISHED, 1)
    entry = upload_entries(active)[-1]
    assert entry.kind == "upload.replaced" and entry.level == "warning" and entry.details["scheduled"] == []
    assert "not replaced for fb-sahada (already published" in entry.message, entry.message
    assert "upload a follow-up instead" in entry.message, entry.message
    run_clock(active, client, "2021-03-05T10:00:00+05:30")
    assert len(accepted(active, "facebook")) == 1, "sent once, not again"


def test_a_re_upload_after_the_kit_reached_every_member_is_reported_as_not_replaced(active, client):
    key, _ = published_kit(active, client)
    reupload(active, client, key, "बदली हुई बात")
    post = post_of(active, key, "whatsapp")
    assert (post.status, post.revision) == (PostStatus.PUBLISHED, 1)
    entry = upload_entries(active)[-1]
    assert "not replaced for wa-sahada" in entry.message and "every team member already had it" in entry.message
    assert "upload a follow-up instead" in entry.message, entry.message
    run_clock(active, client, "2021-03-05T10:00:00+05:30")
    assert recipients(active) == {MEMBER_1: 1, MEMBER_2: 1}, "each member exactly once"


def test_a_re_upload_after_the_kit_reached_some_and_could_not_reach_the_rest_says_both(active, client):
    key = schedule(active, client, "whatsapp")
    active.sandbox.inject(Fault("whatsapp", "undeliverable", account_id="wa-sahada", contains=MEMBER_2))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, "whatsapp")
    assert sorted(post.deliveries) == ["sahada-01", "sahada-02"] and post.deliveries["sahada-02"].startswith("failed:")
    reupload(active, client, key, "बदली हुई बात")
    assert post_of(active, key, "whatsapp").revision == 1
    entry = upload_entries(active)[-1]
    assert "1 team member(s) already had it and 1 could not be reached" in entry.message, entry.message


def test_a_thread_re_upload_with_a_part_still_unsent_replaces_the_post_and_says_who_had_what(active, client):
    key = partial_thread(active, client)
    reupload(active, client, key, LONG_TEXT.replace("सड़क", "पुल"), when="2021-03-06T10:00:00+05:30", platform="x")
    post = post_of(active, key, "x")
    assert (post.revision, post.status) == (2, PostStatus.SCHEDULED)
    entry = upload_entries(active)[-1]
    assert "not replaced" not in entry.message and "x-sahada already reached part-1, part-2" in entry.message


def test_a_revision_that_found_every_part_already_out_does_not_claim_it_went_to_the_rest(active, client):
    """The refusal in ingest reads the post before placing the new revision; a send in between can still leave a
    revision with nothing to send. Its `post.published` entry then says that nothing of it was sent."""
    key = partial_thread(active, client)
    store = active.container.store
    post = post_of(active, key, "x")
    wake = post.due_at + timedelta(days=1)
    two_parts = replace(post, revision=2, status=PostStatus.SCHEDULED, wake_at=wake, deliveries={},
                        delivery_revisions={}, payload={**post.payload, "thread": ["नया 1", "नया 2"]})
    assert store.place_post(two_parts, [PostStatus.HELD_THROTTLED]).placed
    before = len(accepted(active, "x"))
    run_clock(active, client, "2021-03-06T10:00:00+05:30")
    post = post_of(active, key, "x")
    assert post.status is PostStatus.PUBLISHED and len(accepted(active, "x")) == before
    [entry] = published_entries(active, date(2021, 3, 6))
    assert "went to the rest" not in entry.message, entry.message
    assert "nothing of revision 2 was sent" in entry.message and "part-2 had revision 1" in entry.message
