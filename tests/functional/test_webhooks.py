"""The signed WhatsApp webhook route, with payloads in the shapes Meta sends."""

import copy
import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest

from chalicelib import bootstrap, observability
from chalicelib.adapters import aws
from chalicelib.domain.whatsapp_webhook import delivery_reference

STATUS = json.loads((Path(__file__).parent.parent / "support" / "whatsapp_status_failed.json").read_text())


def counts(response):
    """The counts every answer carries (services may add their own)."""
    return {key: response.json_body.get(key) for key in ("statuses", "settled", "failed", "inbound")}


def signed(world, payload, secret=None):
    """The body and headers as Meta sends them: a JSON payload (or raw bytes) signed with the app secret."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    key = world.sandbox.app_secret if secret is None else secret
    signature = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json"}


def test_the_subscription_check_echoes_the_challenge_only_for_our_token(active, client):
    ok = client.http.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=test-verify-token"
                         "&hub.challenge=1158201444")
    assert (ok.status_code, ok.body) == (200, b"1158201444")
    wrong = client.http.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1")
    assert wrong.status_code == 403


def test_an_unsigned_or_forged_webhook_is_refused_before_parsing(active, client):
    body, headers = signed(active, STATUS)
    forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    assert client.http.post("/webhooks/whatsapp", body=body, headers=forged).status_code == 401
    assert client.http.post("/webhooks/whatsapp", body=b"not json", headers={
        "Content-Type": "application/json"}).status_code == 401


def test_a_failed_status_is_recorded_and_reported(active, client):
    payload = json.loads(json.dumps(STATUS))
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    status["biz_opaque_callback_data"] = delivery_reference("c0ffee0000000000", "wa-sahada", "sahada-02")
    body, headers = signed(active, payload)
    response = client.http.post("/webhooks/whatsapp", body=body, headers=headers)
    assert counts(response) == {"statuses": 1, "settled": 0, "failed": 1, "inbound": 0}
    [entry] = [e for e in active.container.store.activity_on(active.clock.now().date()) if e.kind == "message.failed"]
    assert "sahada-02" in entry.message and "131026" in entry.message
    assert "919" not in entry.message, "no phone number in the activity log"


def test_statuses_only_move_forward(active, client):
    store = active.container.store
    assert store.note_message_status("wamid.A", "delivered", 2, None, active.clock.now())
    assert not store.note_message_status("wamid.A", "sent", 1, None, active.clock.now()), "a late 'sent'"
    assert store.note_message_status("wamid.A", "read", 3, None, active.clock.now())


# ---- item 8: no input makes the webhook answer 500 ----------------------------------------------------------

@pytest.fixture()
def logged(monkeypatch):
    """What the webhook routes log, by level."""
    lines: list[tuple[str, str, dict]] = []
    for level in ("error", "warning"):
        monkeypatch.setattr(observability.logger, level,
                            lambda message, *_, level=level, extra=None, **__: lines.append((level, message,
                                                                                           extra or {})))
    return lines


# One world per test (each costs a fresh emulator setup), so the cases of a kind run in a loop.

def test_a_non_ascii_signature_is_refused_like_any_wrong_one(active, client):
    body, headers = signed(active, STATUS)
    for header in ("sha256=" + "é" * 64, "sha256=" + "४" * 64, "sha256=\u200b" + headers["X-Hub-Signature-256"][7:],
                   "sha256=👨\u200d👩\u200d👧", "é", headers["X-Hub-Signature-256"] + "\u0301"):
        response = client.http.post("/webhooks/whatsapp", body=body,
                                    headers={**headers, "X-Hub-Signature-256": header})
        assert response.status_code == 401, header


def test_a_non_ascii_or_empty_verify_token_is_forbidden(active, client):
    for token in ("%C3%A9t%C3%A9", "test-verify-token%E2%80%8B", "%F0%9F%91%A8%E2%80%8D%F0%9F%91%A9",
                  "t%C3%ABst-verify-token", "", "%00", "%ED%A0%80"):
        response = client.http.get(f"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=7")
        assert response.status_code == 403, token
    assert client.http.get("/webhooks/whatsapp?hub.verify_token=test-verify-token&hub.challenge=7").status_code == 403


def odd(mutate):
    payload = copy.deepcopy(STATUS)
    mutate(payload)
    return payload


def value_of(payload):
    return payload["entry"][0]["changes"][0]["value"]


ODD_BODIES = {
    "entry null": ({**STATUS, "entry": None}, "entry is null, not a list"),
    "top-level list": ([STATUS, STATUS], "the body is a list, not an object"),
    "top-level number": (7, "the body is a number, not an object"),
    "changes null": (odd(lambda p: p["entry"][0].update(changes=None)), "entry[0].changes is null, not a list"),
    "value a list": (odd(lambda p: p["entry"][0]["changes"][0].update(value=[])),
                     "entry[0].changes[0].value is a list, not an object"),
    "statuses not objects": (odd(lambda p: value_of(p).update(statuses=["failed", None, 3])),
                             "entry[0].changes[0].value.statuses[0] is a string, not an object"),
    "status without id": (odd(lambda p: value_of(p)["statuses"][0].update(id=None)),
                          "entry[0].changes[0].value.statuses[0] has no usable id or status"),
    "object not whatsapp": ({**STATUS, "object": ["whatsapp_business_account"]},
                            "object is not whatsapp_business_account"),
}


def test_a_signed_but_malformed_envelope_is_acknowledged_and_logged(active, client, logged):
    for name, (payload, note) in ODD_BODIES.items():
        logged.clear()
        body, headers = signed(active, payload)
        response = client.http.post("/webhooks/whatsapp", body=body, headers=headers)
        assert (response.status_code, counts(response)) == (200, {"statuses": 0, "settled": 0, "failed": 0,
                                                                  "inbound": 0}), name
        [(level, message, extra)] = logged
        assert level == "warning" and "not understood" in message and note in extra["not_understood"], name
        assert "919" not in json.dumps(extra), "paths and types only: no phone number in the log"


def test_what_is_understood_of_an_odd_envelope_is_still_acted_on(active, client, logged):
    payload = odd(lambda p: value_of(p)["statuses"].extend([None, {"id": "wamid.X", "status": "read",
                                                                   "timestamp": "soon"}]))
    value_of(payload)["statuses"][0]["biz_opaque_callback_data"] = delivery_reference("c0ffee0000000000",
                                                                                      "wa-sahada", "sahada-02")
    value_of(payload)["statuses"][0]["timestamp"] = [1614909600]
    payload["entry"].append(None)
    body, headers = signed(active, payload)
    response = client.http.post("/webhooks/whatsapp", body=body, headers=headers)
    assert (response.status_code, counts(response)) == (200, {"statuses": 2, "settled": 0, "failed": 1,
                                                              "inbound": 0})
    assert [e for e in active.container.store.activity_on(active.clock.now().date()) if e.kind == "message.failed"]
    [(_, _, extra)] = logged
    assert extra["count"] == 4  # entry[1], statuses[1], and both timestamps


def test_a_signed_body_that_is_not_json_is_a_400(active, client):
    for raw in (b"not json", b"", b"\xff\xfe{\x00", b"[" * 100_000, b"1" * 5_000,
                b'{"object": "whatsapp_business_account", "entry": [}'):
        body, headers = signed(active, raw)
        assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 400, raw[:20]


# ---- a deployment without its secrets refuses, loudly ---------------------------------------------------------

APP_SECRET, VERIFY_TOKEN = "PRACHAR_WHATSAPP_APP_SECRET", "PRACHAR_WHATSAPP_VERIFY_TOKEN"


@pytest.fixture()
def reconfigure(active):
    """Rebuild the wiring with other webhook secrets (a value of None unsets it); put back afterwards."""
    from aws_lambda_powertools.utilities import parameters

    saved = {name: os.environ.get(name) for name in (APP_SECRET, VERIFY_TOKEN)}

    def apply(values):
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        parameters.clear_caches()
        return bootstrap.use(active.clock)

    yield apply
    apply(saved)


@pytest.mark.parametrize("secret", ["", " ", "\t\n"])
def test_a_blank_app_secret_refuses_every_webhook_with_one_clear_error(active, client, logged, reconfigure, secret):
    reconfigure({APP_SECRET: secret} if secret else {APP_SECRET: None})
    for key in (secret, "", active.sandbox.app_secret):  # an empty-key HMAC above all must not pass
        body, headers = signed(active, STATUS, secret=key)
        response = client.http.post("/webhooks/whatsapp", body=body, headers=headers)
        assert (response.status_code, response.json_body) == (500, {"error": "the webhook is not configured"})
    get = client.http.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=1")
    assert get.status_code == 500
    assert len(logged) == 4 and {level for level, _, _ in logged} == {"error"}
    problem = logged[0][2]["problem"]
    assert "app secret" in problem and ("blank" in problem or "cannot be read" in problem)
    assert not [e for e in active.container.store.activity_on(active.clock.now().date()) if e.kind == "message.failed"]


def test_a_blank_verify_token_refuses_the_subscription_check(active, client, logged, reconfigure):
    reconfigure({VERIFY_TOKEN: "   "})
    response = client.http.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=+++&hub.challenge=1")
    assert response.status_code == 500
    [(level, _, extra)] = logged
    assert level == "error" and "verify token" in extra["problem"] and "blank" in extra["problem"]


def test_in_the_cloud_the_secrets_come_from_ssm_and_a_blank_one_there_is_refused(active, client, logged, reconfigure):
    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/prachar/test/whatsapp/app-secret", Value="ssm-app-secret", Type="SecureString")
    ssm.put_parameter(Name="/prachar/test/whatsapp/verify-token", Value="ssm-verify-token", Type="SecureString")
    reconfigure({APP_SECRET: None, VERIFY_TOKEN: None})
    body, headers = signed(active, STATUS, secret="ssm-app-secret")
    assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 200
    ok = client.http.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=ssm-verify-token&hub.challenge=9")
    assert (ok.status_code, ok.body) == (200, b"9")

    ssm.put_parameter(Name="/prachar/test/whatsapp/app-secret", Value=" ", Type="SecureString", Overwrite=True)
    reconfigure({})
    body, headers = signed(active, STATUS, secret=" ")
    assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 500
    assert "SSM parameter /prachar/test/whatsapp/app-secret is blank" in logged[-1][2]["problem"]

    ssm.delete_parameter(Name="/prachar/test/whatsapp/app-secret")
    reconfigure({})
    assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 500
    assert "cannot be read from SSM parameter /prachar/test/whatsapp/app-secret" in logged[-1][2]["problem"]
