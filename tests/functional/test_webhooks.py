"""The signed WhatsApp webhook route, with payloads in the shapes Meta sends."""

import hashlib
import hmac
import json
from pathlib import Path

from chalicelib.domain.whatsapp_webhook import delivery_reference

STATUS = json.loads((Path(__file__).parent.parent / "support" / "whatsapp_status_failed.json").read_text())


def signed(world, payload):
    body = json.dumps(payload).encode()
    signature = hmac.new(world.sandbox.app_secret.encode(), body, hashlib.sha256).hexdigest()
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
    assert response.json_body == {"statuses": 1, "settled": 0, "failed": 1, "inbound": 0}
    [entry] = [e for e in active.container.store.activity_on(active.clock.now().date()) if e.kind == "message.failed"]
    assert "sahada-02" in entry.message and "131026" in entry.message
    assert "919" not in entry.message, "no phone number in the activity log"


def test_statuses_only_move_forward(active, client):
    store = active.container.store
    assert store.note_message_status("wamid.A", "delivered", 2, None, active.clock.now())
    assert not store.note_message_status("wamid.A", "sent", 1, None, active.clock.now()), "a late 'sent'"
    assert store.note_message_status("wamid.A", "read", 3, None, active.clock.now())
