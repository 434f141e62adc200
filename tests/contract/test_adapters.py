"""Each adapter's success shapes and every failure class, against the sandbox's platform behaviour."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.platforms.base import CannotCheck, Media, PublishRequest
from chalicelib.adapters.platforms.facebook import FacebookClient
from chalicelib.adapters.platforms.whatsapp import WhatsAppClient
from chalicelib.adapters.platforms.x import XClient
from chalicelib.errors import (
    PlatformAccountError,
    PlatformAmbiguousError,
    PlatformAuthError,
    PlatformDuplicateError,
    PlatformRateLimitedError,
    PlatformRejectedError,
    PlatformUnavailableError,
)
from local.sandbox import Fault
from tests.contract.conftest import NUMBER, PAGE, USER

TIMEOUT = 2.0  # a loaded 2-core machine can take over a second to answer; the sandbox stalls 2.6 s


def clients(sandbox):
    return {"facebook": FacebookClient(sandbox.url, "v25.0", TIMEOUT), "x": XClient(sandbox.url, TIMEOUT),
            "whatsapp": WhatsAppClient(sandbox.url, "v25.0", TIMEOUT)}


def request(platform, **overrides):
    base = {"facebook": dict(target_id=PAGE, token="tok-fb", text="सहाड़ा में नया महाविद्यालय"),
            "x": dict(target_id=USER, token="tok-x", text="सहाड़ा में नया महाविद्यालय"),
            "whatsapp": dict(target_id=NUMBER, token="tok-wa", text="सहाड़ा में नया महाविद्यालय",
                             recipient="919000000101")}[platform]
    return PublishRequest(**{**base, **overrides})


def test_facebook_feed_and_photo_shapes(platform_sandbox):
    facebook = clients(platform_sandbox)["facebook"]
    post_id = facebook.publish(request("facebook", link="https://example.org/b"))
    assert post_id.startswith(f"{PAGE}_")
    photo = facebook.publish(request("facebook", text="पोस्टर", media=[Media("https://s3/p.png", "image/png")]))
    assert photo.startswith(f"{PAGE}_")
    feed, photos = platform_sandbox.received("facebook")
    assert (feed["path"], feed["body"]) == (f"/v25.0/{PAGE}/feed", {"message": "सहाड़ा में नया महाविद्यालय",
                                                                  "link": "https://example.org/b"})
    assert photos["path"] == f"/v25.0/{PAGE}/photos" and photos["body"]["url"] == "https://s3/p.png"


def test_x_post_and_reply_shapes(platform_sandbox):
    x = clients(platform_sandbox)["x"]
    first = x.publish(request("x", text="भाग एक (1/2)"))
    second = x.publish(request("x", text="भाग दो (2/2)", reply_to=first))
    calls = platform_sandbox.received("x")
    assert [c["status"] for c in calls] == [201, 201]
    assert calls[1]["body"] == {"text": "भाग दो (2/2)", "reply": {"in_reply_to_tweet_id": first}}
    assert second != first


def test_whatsapp_text_image_and_template_shapes(platform_sandbox):
    whatsapp = clients(platform_sandbox)["whatsapp"]
    text_id = whatsapp.publish(request("whatsapp", link="https://example.org/b"))
    platform_sandbox.clock = _Later(platform_sandbox.clock, seconds=7)  # the pair rate: 6 s per member
    image_id = whatsapp.publish(request("whatsapp", media=[Media("https://s3/p.png", "image/png")]))
    platform_sandbox.clock = _Later(platform_sandbox.clock, seconds=7)
    template_id = whatsapp.publish(request("whatsapp", recipient="919000000199", template={
        "name": "budget_update", "language": "hi", "params": ["सहाड़ा", "महाविद्यालय"]}))
    assert all(i.startswith("wamid.") for i in (text_id, image_id, template_id))
    text, image, template = (c["body"] for c in platform_sandbox.received("whatsapp"))
    assert text["text"] == {"body": "सहाड़ा में नया महाविद्यालय\n\nhttps://example.org/b", "preview_url": True}
    assert image["image"] == {"link": "https://s3/p.png", "caption": "सहाड़ा में नया महाविद्यालय"}
    assert template["template"]["components"][0]["parameters"][1] == {"type": "text", "text": "महाविद्यालय"}


class _Later:
    def __init__(self, clock, seconds):
        self._clock, self._delta = clock, timedelta(seconds=seconds)

    def now(self):
        return self._clock.now() + self._delta


CLASSES = [
    ("facebook", "server_error", PlatformUnavailableError), ("facebook", "transient", PlatformUnavailableError),
    ("facebook", "rate_limit", PlatformRateLimitedError), ("facebook", "auth", PlatformAuthError),
    ("facebook", "policy", PlatformAccountError), ("facebook", "duplicate", PlatformDuplicateError),
    ("facebook", "permission", PlatformAccountError), ("facebook", "timeout_after_send", PlatformAmbiguousError),
    ("x", "server_error", PlatformUnavailableError), ("x", "rate_limit", PlatformRateLimitedError),
    ("x", "auth", PlatformAuthError), ("x", "duplicate", PlatformDuplicateError),
    ("x", "policy", PlatformAccountError), ("x", "timeout_after_send", PlatformAmbiguousError),
    ("whatsapp", "server_error", PlatformUnavailableError), ("whatsapp", "rate_limit", PlatformRateLimitedError),
    ("whatsapp", "pair_rate", PlatformRateLimitedError), ("whatsapp", "auth", PlatformAuthError),
    ("whatsapp", "policy", PlatformAccountError), ("whatsapp", "outside_window", PlatformRejectedError),
    ("whatsapp", "undeliverable", PlatformRejectedError),
    ("whatsapp", "timeout_after_send", PlatformAmbiguousError),
]


@pytest.mark.parametrize("platform, kind, error", CLASSES, ids=[f"{p}-{k}" for p, k, _ in CLASSES])
def test_every_failure_class_maps_to_one_error(platform_sandbox, platform, kind, error):
    platform_sandbox.inject(Fault(platform, kind))
    with pytest.raises(error) as raised:
        clients(platform_sandbox)[platform].publish(request(platform))
    assert type(raised.value) is error
    assert "tok-" not in str(raised.value.message), "tokens never appear in errors"


def test_rate_limit_waits_come_from_the_platform_headers(platform_sandbox):
    platform_sandbox.inject(Fault("x", "rate_limit"))
    with pytest.raises(PlatformRateLimitedError) as x_limit:
        clients(platform_sandbox)["x"].publish(request("x"))
    assert x_limit.value.reset_at > platform_sandbox.clock.now().timestamp()
    platform_sandbox.inject(Fault("facebook", "rate_limit"))
    with pytest.raises(PlatformRateLimitedError) as fb_limit:
        clients(platform_sandbox)["facebook"].publish(request("facebook"))
    assert fb_limit.value.retry_after == 300
    platform_sandbox.inject(Fault("whatsapp", "pair_rate"))
    with pytest.raises(PlatformRateLimitedError) as pair:
        clients(platform_sandbox)["whatsapp"].publish(request("whatsapp"))
    assert pair.value.per_recipient


def test_x_counts_its_window_in_the_headers_and_refuses_when_spent(platform_sandbox):
    x = clients(platform_sandbox)["x"]
    for n in range(3):
        x.publish(request("x", text=f"पोस्ट {n}"))
    calls = platform_sandbox.received("x")
    assert [c["response_headers"]["x-rate-limit-remaining"] for c in calls] == ["99", "98", "97"]
    platform_sandbox.state.x_window[USER] = (platform_sandbox.clock.now(), 100)
    with pytest.raises(PlatformRateLimitedError):
        x.publish(request("x", text="one too many"))


def test_platform_rules_without_faults(platform_sandbox):
    c = clients(platform_sandbox)
    c["facebook"].publish(request("facebook", text="एक ही बात"))
    with pytest.raises(PlatformDuplicateError):
        c["facebook"].publish(request("facebook", text="एक ही बात"))
    c["x"].publish(request("x", text="same words"))
    with pytest.raises(PlatformDuplicateError):
        c["x"].publish(request("x", text="same words"))
    with pytest.raises(PlatformRejectedError, match="too long"):
        c["x"].publish(request("x", text="श" * 281))
    with pytest.raises(PlatformRejectedError, match="132001"):
        c["whatsapp"].publish(request("whatsapp", template={"name": "no_such_template", "params": []}))
    with pytest.raises(PlatformRejectedError, match="132000"):
        c["whatsapp"].publish(request("whatsapp", template={"name": "budget_update", "params": ["one"]}))
    with pytest.raises(PlatformRejectedError, match="131047"):
        c["whatsapp"].publish(request("whatsapp", recipient="919000000555"))  # never wrote in
    with pytest.raises(PlatformAuthError):
        c["x"].publish(request("x", token="tok-revoked"))


def test_looking_for_a_post_after_an_ambiguous_call(platform_sandbox):
    c = clients(platform_sandbox)
    since = datetime.now(UTC) - timedelta(minutes=1)
    for platform in ("facebook", "x"):
        assert c[platform].find_published(request(platform, text="not posted yet"), since) is None
        posted = c[platform].publish(request(platform, text="posted once"))
        assert c[platform].find_published(request(platform, text="posted once"), since) == posted
        # Only the span in which our own attempts could have landed: a later post with the same words is not ours.
        assert c[platform].find_published(request(platform, text="posted once"), since - timedelta(hours=1),
                                          until=since) is None
    with pytest.raises(CannotCheck):
        c["whatsapp"].find_published(request("whatsapp"), since)


def test_token_checks(platform_sandbox):
    c = clients(platform_sandbox)
    c["facebook"].check_token(PAGE, "tok-fb")
    c["x"].check_token(USER, "tok-x")
    c["whatsapp"].check_token(NUMBER, "tok-wa")
    with pytest.raises(PlatformAuthError):
        c["facebook"].check_token(PAGE, "tok-x")
    platform_sandbox.revoke("x-sahada")
    with pytest.raises(PlatformAuthError):
        c["x"].check_token(USER, "tok-x")


def test_x_media_goes_through_the_chunked_upload(platform_sandbox, tmp_path):
    image, video = _served_files(tmp_path, {"poster.png": b"\x89PNG" + b"0" * 5000,
                                            "rally.mp4": b"\x00\x00\x00\x18ftypmp42" + b"1" * (4 * 1024 * 1024 + 10)})
    x = XClient(platform_sandbox.url, TIMEOUT, sleep=lambda seconds: None)
    x.publish(request("x", text="पोस्टर के साथ", media=[Media(image, "image/png")]))
    x.publish(request("x", text="वीडियो के साथ", media=[Media(video, "video/mp4")]))
    paths = [c["path"].split("/")[-1] if "upload/" in c["path"] else c["path"] for c in platform_sandbox.received("x")]
    assert paths == ["initialize", "append", "finalize", "/2/tweets",
                     "initialize", "append", "append", "finalize", "/2/tweets"], "a 4 MiB+ video takes two segments"
    tweets = [c for c in platform_sandbox.received("x") if c["path"] == "/2/tweets"]
    assert all(len(t["body"]["media"]["media_ids"]) == 1 and t["status"] == 201 for t in tweets)


def test_facebook_video_goes_through_the_resumable_upload(platform_sandbox, tmp_path):
    [video] = _served_files(tmp_path, {"rally.mp4": b"\x00\x00\x00\x18ftypmp42" + b"1" * 20000})
    facebook = FacebookClient(platform_sandbox.url, "v25.0", TIMEOUT, app_id="900000000000001")
    video_id = facebook.publish(request("facebook", text="रैली", media=[Media(video, "video/mp4")]))
    session, upload, post = platform_sandbox.received("facebook")
    assert session["path"] == "/v25.0/900000000000001/uploads" and session["response"]["id"].startswith("upload:")
    assert upload["path"] == f"/v25.0/{session['response']['id']}" and upload["response"]["h"]
    assert post["path"] == f"/v25.0/{PAGE}/videos"
    assert post["body"]["fbuploader_video_file_chunk"] == upload["response"]["h"]
    assert video_id == post["response"]["id"]
    with pytest.raises(PlatformRejectedError, match="PRACHAR_FACEBOOK_APP_ID"):
        FacebookClient(platform_sandbox.url, "v25.0", TIMEOUT).publish(
            request("facebook", media=[Media(video, "video/mp4")]))


def _served_files(folder, files):
    """Serve files over loopback HTTP, as the content bucket's presigned links are served."""
    import functools
    import http.server
    import threading

    for name, data in files.items():
        (folder / name).write_bytes(data)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return [f"http://127.0.0.1:{server.server_port}/{name}" for name in files]


OAUTH1 = {"consumer_key": "ck-1", "consumer_secret": "cs-1", "access_token": "at-x-1", "access_token_secret": "as-1"}


def test_x_with_oauth1_credentials_is_signed_and_verified(platform_sandbox):
    platform_sandbox.register_oauth1(OAUTH1, "x-oauth", "2000009")
    x = clients(platform_sandbox)["x"]
    post_id = x.publish(request("x", target_id="2000009", token=json.dumps(OAUTH1), text="हस्ताक्षर सहित"))
    call = platform_sandbox.received("x")[-1]
    assert call["status"] == 201 and call["account_id"] == "x-oauth"
    assert x.find_published(request("x", target_id="2000009", token=json.dumps(OAUTH1), text="हस्ताक्षर सहित"),
                            datetime.now(UTC) - timedelta(minutes=1)) == post_id  # a signed GET with a query
    forged = {**OAUTH1, "consumer_secret": "wrong"}
    with pytest.raises(PlatformAuthError):
        x.publish(request("x", target_id="2000009", token=json.dumps(forged), text="जाली"))
    with pytest.raises(PlatformAuthError, match="lacks access_token_secret"):
        x.publish(request("x", token=json.dumps({k: v for k, v in OAUTH1.items() if k != "access_token_secret"})))


def test_whatsapp_throughput_cap_and_stop_list(platform_sandbox):
    whatsapp = clients(platform_sandbox)["whatsapp"]
    platform_sandbox.state.stopped.add("919000000101")
    with pytest.raises(PlatformRejectedError, match="131050"):
        whatsapp.publish(request("whatsapp", template={"name": "daily_kit", "params": ["सहाड़ा"]}))
    platform_sandbox.state.sent_at[NUMBER] = [platform_sandbox.clock.now()] * 80
    with pytest.raises(PlatformRateLimitedError, match="130429"):
        whatsapp.publish(request("whatsapp", recipient="919000000101"))
