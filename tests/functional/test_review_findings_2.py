"""Hostile review of the settlement / look-up / thread-media changes: each test fails against the code as reviewed.

Every test names the harm, the reproduction and the suggested fix in its docstring.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.post import PostStatus
from local.sandbox import Fault
from tests.functional.test_exactly_once import recipients
from tests.functional.test_failure_classes import (
    ACCOUNTS,
    accepted,
    deliver_all,
    post_of,
    run_clock,
)
from tests.functional.test_settlement import MEMBER_2, settle, stuck_kit

# ---- 1. a settled post past attempt 8 never sends the rest -------------------------------------------------------

@pytest.mark.parametrize("went_out", [True, False])
def test_a_coordinator_settling_a_kit_in_doubt_on_its_8th_attempt_gets_the_rest_sent(active, client, went_out):
    """Harm: a team kit whose 8th attempt was in doubt (7 retryable errors, then a dropped connection) is settled
    by a coordinator — "it went out" (README: "the rest of the kit goes on") or "it did not" (README: "it is sent
    again") — and the very next claim (attempt 9) fails the post with "gave up after 8 attempts; the last one was in
    doubt and whatsapp does not show sahada-02, so it was not sent again". Member 2 (and, with went_out false,
    member 1) never gets the kit; the coordinator's decision is silently turned into a failure. The same happens
    when WhatsApp's own status webhook settles it, and to the remaining parts of an X thread.
    Reproduction: a kit stuck on member 1 (stuck_kit), force attempts=8, settle, run the clock.
    Fix: the "look only, never send" branch in Publisher._send must apply only to the delivery that was in doubt
    (post.pending_delivery / the look-up of a Facebook/X call), not to every later delivery nor to a post a person
    or a webhook settled (settle_pending_delivery clears check_first — key the branch on check_first, and let a
    settlement reset or exempt the attempt budget)."""
    key, post = stuck_kit(active, client)
    active.force_post(post.content_id, post.account_id, PostStatus.AMBIGUOUS, attempts=8)
    answer = settle(client, post.content_id, account_id="wa-sahada", went_out=went_out)
    assert answer.status_code == 200, answer.body
    run_clock(active, client, "2021-03-05T09:05:00+05:30")
    settled = post_of(active, key, "whatsapp")
    assert settled.status is PostStatus.PUBLISHED, settled.reason
    assert recipients(active).get(MEMBER_2) == 1


# ---- 2. the look-up takes another post with the same text for this one ---------------------------------------------

def upload(world, client, name, text, when, platform="facebook"):
    key = f"content/constituency/sahada/{name}-{platform}.yaml"
    world.put(key, f"title: {name}\ntext: {text}\nplatforms: [{platform}]\npublish_at: {when}\n")
    client.lambda_.invoke("on_content_upload", world.s3_event(key))
    return key


def test_a_retry_after_a_5xx_does_not_take_another_post_with_the_same_text_for_its_own(active, client):
    """Harm: change 2 makes every Facebook 5xx set check_first, and change 1 looks from 5 min before the post's
    *first* claim (kept across retries, holds and re-uploads). The look-up matches on text alone, so any other post
    on the page with the same words published since then — the next occurrence of a daily series re-using its text,
    a second upload of the same slogan for another time — is taken for this one: the post is recorded `published`
    with the other post's id and never appears. Before change 2 a plain 5xx (nothing created) was simply re-sent.
    Reproduction: A (09:00) and B (09:05) carry the same text; A's first call gets a 500; B goes out at 09:05;
    A's re-send at 09:11 looks, finds B's post and records it as A's. Only one post is on the page.
    Fixed (publish._found_earlier): the look-up spans only the attempts that may have landed — from 5 minutes before
    the first attempt in doubt (`ambiguous_since`) to 2 minutes after the last one's answer (`ambiguous_until`) —
    so B, published after A's failed attempt was answered, is not in it."""
    text = "सहाड़ा में आज शाम सात बजे जनसभा"
    a = upload(active, client, "a", text, "2021-03-05T09:00:00+05:30")
    b = upload(active, client, "b", text, "2021-03-05T09:05:00+05:30")
    active.sandbox.inject(Fault("facebook", "server_error", account_id="fb-sahada"))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert post_of(active, a, "facebook").check_first
    active.receive()  # A's redelivery waits out its backoff; the clock re-sends it later
    run_clock(active, client, "2021-03-05T09:05:00+05:30")
    assert post_of(active, b, "facebook").status is PostStatus.PUBLISHED
    run_clock(active, client, "2021-03-05T09:11:00+05:30")
    post_a, post_b = post_of(active, a, "facebook"), post_of(active, b, "facebook")
    assert post_a.platform_post_id != post_b.platform_post_id, "A is recorded as B's post"
    # Facebook refuses the same words twice (506): A can only be in doubt, then fail — never be taken for B.
    assert post_a.status is not PostStatus.PUBLISHED and len(accepted(active, "facebook")) == 1


# ---- 3. a coordinator's "did not go out" overrides a look-up that would have found it ------------------------------

def test_settling_a_facebook_post_whose_look_up_is_still_due_does_not_send_it_twice(active, client):
    """Harm: the settle route is documented as the answer for "a call in doubt that nothing else can" settle, but
    it accepts any ambiguous post — including a Facebook/X post whose automatic look-up is 2 minutes away. A
    coordinator who glances at the page too early (Graph's feed lags) and answers went_out=false removes
    check_first (settle_pending_delivery REMOVEs it), so the next attempt sends blind: the same post is sent to the
    page a second time. Only Graph's best-effort "Duplicate status message" (506, same text minutes apart) stops it
    here — and then the post, which *is* on the page, is left ambiguous with a duplicate error instead of published.
    Reproduction: timeout_after_send on Facebook (the post landed), settle went_out=false, run the clock; the
    sandbox receives two publish calls.
    Fix: refuse (409) a settlement while the platform can still be asked (Facebook/X with a wake time), or keep
    check_first on went_out=false for Facebook/X — looking never sends, so it costs nothing."""
    key = upload(active, client, "p", "सहाड़ा में नई सड़क", "2021-03-05T09:00:00+05:30")
    active.sandbox.inject(Fault("facebook", "timeout_after_send", account_id="fb-sahada"))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, "facebook")
    assert post.status is PostStatus.AMBIGUOUS and post.wake_at is not None
    answer = settle(client, post.content_id, account_id="fb-sahada", went_out=False)
    run_clock(active, client, "2021-03-05T09:03:00+05:30")
    sent = [r for r in active.sandbox.received("facebook") if r.get("method", "POST") == "POST"]
    assert len(sent) == 1, f"the post was sent to the page {len(sent)} times (settle answered {answer.status_code})"


# ---- 4. a Facebook/X post whose look-ups ran out waits forever, with no alert ----------------------------------------

class LookUpRefused:
    """A client whose every read of the page fails (a 500 on published_posts); publishing is never reached."""

    def __init__(self, client):
        self.platform = client.platform
        self._client = client

    def publish(self, request):
        return self._client.publish(request)

    def find_published(self, request, since, until=None):
        from chalicelib.errors import PlatformUnavailableError
        raise PlatformUnavailableError(self.platform, "An unexpected error has occurred.", status=500, code=2)


def test_a_facebook_post_whose_look_ups_ran_out_alerts_a_coordinator(active, client):
    """Harm: after the 8th attempt in doubt and 3 failed look-ups, the post is left `ambiguous` with no wake time
    ("check the account and decide") — but unlike WhatsApp no `post.needs_decision` ALERT is ever written (only the
    usual `post.ambiguous` warning, one among many). README says such a post "is settled the same way", yet nothing
    tells a coordinator to do it: the post sits non-final forever and never goes out.
    Reproduction: a Facebook post ambiguous at attempts=10 with check_first, page reads failing; run the clock.
    Fix: when mark_ambiguous leaves a post with no wake and nobody else to settle it, record the same
    `post.needs_decision` ALERT (level error) as escalate does for WhatsApp."""
    key = upload(active, client, "p", "सहाड़ा में नई सड़क", "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, "facebook")
    active.force_post(post.content_id, post.account_id, PostStatus.AMBIGUOUS, attempts=10, check_first=True,
                      pending_delivery="page", wake_pk="WAKE", wake_at="2021-03-05T03:29:00Z",
                      ambiguous_since="2021-03-05T03:00:00Z")
    publisher = active.container.publisher
    publisher.platforms["facebook"] = LookUpRefused(publisher.platforms["facebook"])
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    run_clock(active, client, "2021-03-05T10:00:00+05:30")
    stuck = post_of(active, key, "facebook")
    assert stuck.status is PostStatus.AMBIGUOUS and stuck.wake_at is None, (stuck.status, stuck.reason)
    from datetime import date
    alerts = [e for e in active.container.store.activity_on(date(2021, 3, 5)) if e.kind == "post.needs_decision"]
    assert alerts, "nobody is told that this post waits for a person"


# ---- 5. a correction uploaded after a plain 5xx is refused, and the old text goes out --------------------------------

@pytest.mark.parametrize("platform", ["facebook", "x"])
def test_a_correction_uploaded_after_a_server_error_replaces_the_text(active, client, platform):
    """Harm: change 2 sets check_first on every Facebook/X 5xx release, and place_post refuses to replace a post
    with check_first ("the outcome of that call must be known first"). So a correction uploaded in the minutes
    after an ordinary 500 (the sandbox's server_error creates nothing) is kept out — the upload is answered "kept"
    and the *old*, wrong wording goes out on the retry. Before change 2 the re-upload replaced it.
    Reproduction: a post's first call gets a 500; the uploader fixes the text; the retry is delivered.
    Fixed (ingest, Store.place_post, publish._found_earlier_wording): the re-upload replaces the post, keeping
    `check_first`, and carries the wording in doubt in `doubts`; the next attempt looks for the new wording and the
    earlier one before it sends (test_a_correction_after_an_earlier_wording_landed_records_that_wording shows the
    other side: when the earlier wording did land, it is recorded and nothing is sent again)."""
    key = upload(active, client, "p", "सहाड़ा में नई सड़क", "2021-03-05T09:00:00+05:30", platform=platform)
    active.sandbox.inject(Fault(platform, "server_error", account_id=ACCOUNTS[platform]))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert post_of(active, key, platform).status is PostStatus.QUEUED
    upload(active, client, "p", "सहाड़ा में नया पुल", "2021-03-05T09:00:00+05:30", platform=platform)
    deliver_all(active, client)
    run_clock(active, client, "2021-03-05T09:15:00+05:30")
    [landed] = accepted(active, platform)
    assert "नया पुल" in json.dumps(landed["body"], ensure_ascii=False), "the old wording went out"


@pytest.mark.parametrize("platform", ["facebook", "x"])
def test_a_correction_after_an_earlier_wording_landed_records_that_wording(active, client, platform):
    """The other side of the correction: the platform created the first wording and still answered 5xx. The re-upload
    replaces the post, but the look-up before its first send finds the earlier wording: it is recorded as what went
    out (with its revision), and the correction is not posted beside it."""
    key = upload(active, client, "p", "सहाड़ा में नई सड़क", "2021-03-05T09:00:00+05:30", platform=platform)
    active.sandbox.inject(Fault(platform, "server_error_after_send", account_id=ACCOUNTS[platform]))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert post_of(active, key, platform).status is PostStatus.QUEUED
    upload(active, client, "p", "सहाड़ा में नया पुल", "2021-03-05T09:00:00+05:30", platform=platform)
    assert post_of(active, key, platform).revision == 2
    deliver_all(active, client)
    run_clock(active, client, "2021-03-05T09:15:00+05:30")
    post = post_of(active, key, platform)
    assert post.status is PostStatus.PUBLISHED and post.doubts == []
    assert set(post.delivery_revisions.values()) == {1}, "what went out is revision 1's wording"
    assert len(active.sandbox.state.posts.get(ACCOUNTS[platform], [])) == 1, "the correction was posted beside it"
