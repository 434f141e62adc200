"""The WhatsApp webhook's pure parts: the signature and verify-token checks, and parse() on any JSON value."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.whatsapp_webhook import (
    MAX_NOTES,
    MessageStatus,
    parse,
    valid_signature,
    valid_verify_token,
)

SECRET = "5f3c0ffee5a1d6e7"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(value: dict, field: str = "messages") -> dict:
    """Meta's envelope around one change (the shape of Meta's recorded webhooks)."""
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "880000000000001", "changes": [{"value": value, "field": field}]}]}


def status_value(*statuses: dict) -> dict:
    return {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "919000000001", "phone_number_id": "3000011"},
            "statuses": list(statuses)}


def a_status(status: str = "delivered", **extra) -> dict:
    return {"id": "wamid.HBgMOTE5MDAwMDAwMjAzFQIAERgSUNITTEST", "status": status, "timestamp": "1614910200",
            "recipient_id": "919000000203", **extra}


FAILED = a_status("failed", biz_opaque_callback_data="c0ffee0000000001|wa-sahada|member-03", errors=[{
    "code": 131049, "title": "Message not delivered to maintain healthy ecosystem engagement",
    "message": "Message not delivered to maintain healthy ecosystem engagement",
    "error_data": {"details": "In order to maintain a healthy ecosystem engagement, the message failed"},
    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}])
INBOUND = {"messaging_product": "whatsapp",
           "metadata": {"display_phone_number": "919000000001", "phone_number_id": "3000011"},
           "contacts": [{"profile": {"name": "Sample"}, "wa_id": "919000000204"}],
           "messages": [{"from": "919000000204", "id": "wamid.INBOUND1", "timestamp": "1614910300",
                         "type": "text", "text": {"body": "जय हो"}}]}
PREFERENCES = {"messaging_product": "whatsapp",
               "metadata": {"display_phone_number": "919000000001", "phone_number_id": "3000011"},
               "user_preferences": [{"wa_id": "919000000205", "detail": "User requested to stop marketing messages",
                                     "category": "marketing_messages", "value": "stop", "timestamp": 1731705800}]}


# ---- signature and verify token -----------------------------------------------------------------------------

def test_a_body_signed_with_our_secret_is_valid_and_nothing_else_is():
    body = json.dumps(envelope(status_value(a_status()))).encode()
    assert valid_signature(SECRET, body, sign(body))
    assert valid_signature(SECRET, body, sign(body).encode()), "a header handed over as bytes"
    assert not valid_signature(SECRET, body + b" ", sign(body))
    assert not valid_signature(SECRET, body, sign(body, "another secret"))
    assert not valid_signature(SECRET, body, sign(body).removeprefix("sha256="))
    assert not valid_signature(SECRET, body, "sha1=" + sign(body).removeprefix("sha256="))
    assert not valid_signature(SECRET, body, sign(body).upper()), "Meta sends lowercase hex"
    assert not valid_signature(SECRET, body, None)
    assert not valid_signature(SECRET, body, "")


@pytest.mark.parametrize("header", ["sha256=" + "é" * 64, "sha256=८७६५४३२१" * 8, "sha256=\ud800",
                                    "sha256=" + "0" * 63 + "\u0660", "\u00a0sha256=" + "0" * 64])
def test_a_non_ascii_signature_is_a_mismatch_not_an_error(header):
    assert not valid_signature(SECRET, b"{}", header)


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "\u00a0\u2003"])
def test_a_blank_app_secret_validates_nothing_not_even_an_empty_key_hmac(blank):
    body = b'{"object": "whatsapp_business_account"}'
    assert not valid_signature(blank, body, sign(body, blank))
    assert not valid_signature(blank, body, sign(body, ""))


def test_the_verify_token_is_compared_as_bytes_and_a_blank_one_matches_nothing():
    assert valid_verify_token("test-verify-token", "test-verify-token")
    assert not valid_verify_token("test-verify-token", "test-verify-tokeN")
    assert not valid_verify_token("test-verify-token", "tëst-verify-token")
    assert not valid_verify_token("test-verify-token", "\ud800")
    assert not valid_verify_token("test-verify-token", None)
    assert not valid_verify_token("test-verify-token", ["test-verify-token"])
    assert valid_verify_token("सहाड़ा-टोकन", "सहाड़ा-टोकन"), "a non-ASCII token of ours still works"
    for blank in ("", "  "):
        assert not valid_verify_token(blank, blank)
        assert not valid_verify_token(blank, "")


TEXTS = st.text(st.characters(exclude_categories=()))  # lone surrogates included, as json.loads can return them
ANYTHING = st.one_of(st.none(), st.integers(), TEXTS, st.binary(), st.lists(st.integers(), max_size=3))


@settings(max_examples=500, deadline=None)
@given(ANYTHING, st.one_of(st.binary(), TEXTS), st.one_of(st.none(), TEXTS, st.binary()))
def test_valid_signature_never_raises(secret, body, header):
    assert valid_signature(secret, body, header) in (True, False)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXTS, st.binary()), st.one_of(st.none(), TEXTS, st.binary(), st.integers()))
def test_valid_signature_accepts_exactly_the_right_header(body, header):
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    right = sign(raw, "s3cret")
    assert valid_signature("s3cret", body, right) and valid_signature("s3cret", body, right.encode())
    assert valid_signature("s3cret", body, header) == (header in (right, right.encode()))


@settings(max_examples=300, deadline=None)
@given(ANYTHING, ANYTHING)
def test_valid_verify_token_never_raises(expected, given_token):
    assert valid_verify_token(expected, given_token) in (True, False)


# ---- parse: what the documented shapes say -------------------------------------------------------------------

def test_statuses_are_read_with_reference_time_and_first_error():
    batch = parse(envelope(status_value(a_status("sent", biz_opaque_callback_data="c0ffee0000000001|wa-x|m1"),
                                        FAILED)))
    sent, failed = batch.statuses
    assert sent == MessageStatus(message_id="wamid.HBgMOTE5MDAwMDAwMjAzFQIAERgSUNITTEST", status="sent",
                                 phone_number_id="3000011", reference="c0ffee0000000001|wa-x|m1",
                                 timestamp=1614910200)
    assert failed.status == "failed" and failed.error_code == 131049
    assert failed.error == "Message not delivered to maintain healthy ecosystem engagement [code 131049]"
    assert failed.reference == "c0ffee0000000001|wa-sahada|member-03"
    assert batch.not_understood == [] and batch.not_understood_count == 0


def test_inbound_messages_and_preference_changes_are_counted():
    assert parse(envelope(INBOUND)).inbound_messages == 1
    batch = parse(envelope(PREFERENCES, field="user_preferences"))
    assert (batch.preference_changes, batch.statuses, batch.not_understood) == (1, [], [])


def test_another_object_is_ignored_and_said_so():
    batch = parse({"object": "page", "entry": [{"changes": [{"value": status_value(a_status())}]}]})
    assert batch.statuses == [] and batch.not_understood == ["object is not whatsapp_business_account"]


def broken(mutate) -> dict:
    body = copy.deepcopy(envelope(status_value(a_status("delivered"), FAILED)))
    mutate(body)
    return body


def value_of(body):
    return body["entry"][0]["changes"][0]["value"]


# Each: a signed body an odd sender could send, what is still understood, and where parse says it stopped.
ODD = {
    "top-level list": ([envelope(status_value(a_status()))], 0, "the body is a list, not an object"),
    "top-level string": ("whatsapp_business_account", 0, "the body is a string, not an object"),
    "top-level null": (None, 0, "the body is null, not an object"),
    "entry null": (broken(lambda b: b.update(entry=None)), 0, "entry is null, not a list"),
    "entry missing": (broken(lambda b: b.pop("entry")), 0, "entry is missing"),
    "entry an object": (broken(lambda b: b.update(entry={"changes": []})), 0, "entry is an object, not a list"),
    "entry items not objects": (broken(lambda b: b["entry"].insert(0, "x")), 2, "entry[0] is a string, not an object"),
    "changes null": (broken(lambda b: b["entry"][0].update(changes=None)), 0, "entry[0].changes is null, not a list"),
    "value a list": (broken(lambda b: b["entry"][0]["changes"][0].update(value=[1])), 0,
                     "entry[0].changes[0].value is a list, not an object"),
    "statuses an object": (broken(lambda b: value_of(b).update(statuses={"id": "x"})), 0,
                           "entry[0].changes[0].value.statuses is an object, not a list"),
    "statuses not objects": (broken(lambda b: value_of(b)["statuses"].extend([None, 7, "read", []])), 2,
                             "entry[0].changes[0].value.statuses[2] is null, not an object"),
    "status without id": (broken(lambda b: value_of(b)["statuses"][0].pop("id")), 1,
                          "entry[0].changes[0].value.statuses[0] has no usable id or status"),
    "status id a number": (broken(lambda b: value_of(b)["statuses"][0].update(id=12)), 1,
                           "entry[0].changes[0].value.statuses[0] has no usable id or status"),
    "id with a lone surrogate": (broken(lambda b: value_of(b)["statuses"][0].update(id="wamid.\ud800")), 1,
                                 "entry[0].changes[0].value.statuses[0] has no usable id or status"),
    "id too long for a key": (broken(lambda b: value_of(b)["statuses"][0].update(id="w" * 5000)), 1,
                              "entry[0].changes[0].value.statuses[0] has no usable id or status"),
    "timestamp a word": (broken(lambda b: value_of(b)["statuses"][0].update(timestamp="soon")), 2,
                         "entry[0].changes[0].value.statuses[0].timestamp is not a time in unix seconds"),
    "timestamp a list": (broken(lambda b: value_of(b)["statuses"][0].update(timestamp=[1])), 2,
                         "entry[0].changes[0].value.statuses[0].timestamp is not a time in unix seconds"),
    "timestamp infinite": (broken(lambda b: value_of(b)["statuses"][0].update(timestamp=float("inf"))), 2,
                           "entry[0].changes[0].value.statuses[0].timestamp is not a time in unix seconds"),
    "timestamp NaN": (broken(lambda b: value_of(b)["statuses"][0].update(timestamp=float("nan"))), 2,
                      "entry[0].changes[0].value.statuses[0].timestamp is not a time in unix seconds"),
    "timestamp 5000 digits": (broken(lambda b: value_of(b)["statuses"][0].update(timestamp="9" * 5000)), 2,
                              "entry[0].changes[0].value.statuses[0].timestamp is not a time in unix seconds"),
    "errors an object": (broken(lambda b: value_of(b)["statuses"][1].update(errors={"code": 1})), 2,
                         "entry[0].changes[0].value.statuses[1].errors is an object without an error object first"),
    "errors of strings": (broken(lambda b: value_of(b)["statuses"][1].update(errors=["boom"])), 2,
                          "entry[0].changes[0].value.statuses[1].errors is a list without an error object first"),
    "reference a number": (broken(lambda b: value_of(b)["statuses"][1].update(biz_opaque_callback_data=5)), 2,
                           "entry[0].changes[0].value.statuses[1].biz_opaque_callback_data is not one of our "
                           "references"),
    "messages a string": (broken(lambda b: value_of(b).update(messages="hello")), 2,
                          "entry[0].changes[0].value.messages is a string, not a list"),
}


@pytest.mark.parametrize("name", ODD)
def test_an_odd_envelope_yields_what_was_understood_and_names_the_rest(name):
    body, statuses, note = ODD[name]
    batch = parse(json.loads(json.dumps(body)))  # as it arrives: through the JSON parser
    assert len(batch.statuses) == statuses
    assert note in batch.not_understood


def test_odd_values_inside_a_status_do_not_lose_the_status():
    body = broken(lambda b: value_of(b)["statuses"][1]["errors"][0].update(code="x", title=["t"], message=None))
    value_of(body)["metadata"] = "not an object"
    _, failed = parse(body).statuses
    assert (failed.status, failed.error, failed.error_code, failed.phone_number_id) == (
        "failed", "no reason given [code ?]", None, "")


def test_the_notes_are_capped_but_counted():
    batch = parse(envelope(status_value(*([None] * 1000))))
    assert len(batch.not_understood) == MAX_NOTES and batch.not_understood_count == 1000


def test_the_notes_name_paths_and_types_never_the_content():
    body = broken(lambda b: value_of(b)["statuses"].append({"recipient_id": "919000000777", "status": ["x"]}))
    assert not any("919000000777" in note for note in parse(body).not_understood)


# ---- parse never raises ---------------------------------------------------------------------------------------

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXTS)
JSON = st.recursive(JSON_SCALARS, lambda children: st.one_of(st.lists(children, max_size=4),
                                                             st.dictionaries(TEXTS, children, max_size=4)),
                    max_leaves=30)
KEYS = ["object", "entry", "changes", "value", "field", "metadata", "phone_number_id", "statuses", "messages",
        "user_preferences", "id", "status", "timestamp", "biz_opaque_callback_data", "errors", "code", "title",
        "message"]


def shaped(inner):
    """A JSON value with the envelope's keys, so arbitrary values reach every level parse reads."""
    return st.one_of(inner, st.lists(inner, max_size=3),
                     st.dictionaries(st.one_of(st.sampled_from(KEYS), TEXTS), inner, max_size=6))


def mostly(proper):
    """The documented shape nine times in ten, any JSON value otherwise: an odd value at every level, and yet
    a fair share of envelopes deep enough to carry a status."""
    return st.sampled_from([JSON] + [proper] * 9).flatmap(lambda strategy: strategy)  # one_of would not weigh


def shape(required, **optional):
    return st.fixed_dictionaries(required, optional=optional)


ERROR_LIKE = shape({"code": mostly(st.sampled_from([131026, "131049", 130429]))}, title=mostly(st.just("Failed")),
                   message=JSON)
STATUS_LIKE = shape({"id": mostly(st.just("wamid.X")), "status": mostly(st.sampled_from(["sent", "read", "failed"]))},
                    timestamp=mostly(st.just("1614910200")),
                    biz_opaque_callback_data=mostly(st.just("c0ffee0000000001|wa-x|m1")),
                    errors=mostly(st.lists(mostly(ERROR_LIKE), max_size=2)))
VALUE_LIKE = shape({"statuses": mostly(st.lists(mostly(STATUS_LIKE), min_size=1, max_size=3))},
                   metadata=mostly(shape({"phone_number_id": mostly(st.just("3000011"))})),
                   messages=mostly(st.lists(JSON, max_size=2)), user_preferences=mostly(st.lists(JSON, max_size=2)))
CHANGE_LIKE = shape({"value": mostly(VALUE_LIKE)}, field=mostly(st.sampled_from(["messages", "user_preferences"])))
ENTRY_LIKE = shape({"changes": mostly(st.lists(mostly(CHANGE_LIKE), min_size=1, max_size=3))})
ENVELOPE_LIKE = shape({"object": mostly(st.just("whatsapp_business_account")),
                       "entry": mostly(st.lists(mostly(ENTRY_LIKE), min_size=1, max_size=3))})


@settings(max_examples=600, deadline=None)
@given(st.one_of(JSON, shaped(JSON)))
def test_parse_never_raises_on_any_json_value(value):
    batch = parse(value)
    assert batch.not_understood_count >= len(batch.not_understood)


@settings(max_examples=300, deadline=None)
@given(ENVELOPE_LIKE)
def test_parse_never_raises_on_envelope_shaped_values_and_keeps_only_usable_statuses(value):
    batch = parse(value)
    for status in batch.statuses:
        assert isinstance(status.message_id, str) and 0 < len(status.message_id) <= 256
        assert isinstance(status.status, str) and status.status
        assert status.reference is None or isinstance(status.reference, str)
        assert isinstance(status.timestamp, int)
        assert status.error is None or isinstance(status.error, str)
        json.dumps(status.__dict__)  # storable: plain JSON types only
