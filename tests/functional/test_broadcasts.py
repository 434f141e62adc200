"""Broadcasts to subscribers through the real handlers on the emulator and the platform sandbox: one message per
opted-in contact, exactly once, paced under the number's throughput by two publishers at once; STOP racing it; the
kill switch per chunk; the roll-up equal to what the sandbox received."""

from __future__ import annotations

import json
import threading
from collections import Counter

from chalicelib.adapters import aws
from chalicelib.domain.broadcast import CHUNK
from chalicelib.domain.post import content_id_for
from tests.functional.test_audience_import import HEADER, rows

BROADCAST_QUEUE = "prachar-test-broadcasts"
POST_KEY = "content/constituency/sahada/broadcast.yaml"
MANIFEST = """title: बजट घोषणा
platforms: [whatsapp]
mcmc_certificate: MCMC/BHL/2021/017
overrides:
  whatsapp: {template: budget_update, params: ["सहाड़ा", "नया महाविद्यालय"], audience: subscribers}
"""


def import_contacts(world, client, numbers, key="audience/sahada/list.csv"):
    world.put(key, HEADER + rows(numbers))
    client.lambda_.invoke("on_audience_upload", world.s3_event(key))


def publish_broadcast(world, client):
    """Upload the post, let the clock queue it and the publisher begin the broadcast."""
    world.put(POST_KEY, MANIFEST)
    client.lambda_.invoke("on_content_upload", world.s3_event(POST_KEY))
    # A broadcast is advertising (MCMC): it waits for a sign-off, on the revision the approver read.
    path = f"/api/posts/{content_id_for(POST_KEY)}"
    revision = client.http.get(path, member="state-01").json_body["revision"]
    approved = client.http.post(f"{path}/approve", body=json.dumps({"revision": revision}), member="state-01")
    assert approved.status_code == 200, approved.json_body
    client.lambda_.invoke("publishing_clock", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[], region="ap-south-1"))
    messages = world.receive()
    assert messages, "the post was queued"
    client.lambda_.invoke("on_publish_message", world.sqs_event(messages))
    return content_id_for(POST_KEY)


def chunk_messages(limit=10):
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=BROADCAST_QUEUE)["QueueUrl"]
    return url, sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=limit, VisibilityTimeout=60).get(
        "Messages", [])


def run_chunks(client, publishers=1):
    """Drain the broadcast queue with `publishers` workers at once (each invokes the real handler)."""
    sqs, outcomes, lock = aws.client("sqs"), [], threading.Lock()

    def worker():
        while True:
            url, messages = chunk_messages(1)
            if not messages:
                return
            for m in messages:
                event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                                      "body": m["Body"], "attributes": {}, "messageAttributes": {},
                                      "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
                                      "eventSourceARN": f"arn:aws:sqs:ap-south-1:123456789012:{BROADCAST_QUEUE}",
                                      "awsRegion": "ap-south-1"}]}
                from chalicelib import entry

                result = entry.send_broadcast_chunks(event)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                with lock:
                    outcomes.extend(result)

    threads = [threading.Thread(target=worker) for _ in range(publishers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def sent_to(world):
    return Counter(r["body"]["to"] for r in world.sandbox.received("whatsapp")
                   if r["status"] == 200 and r["body"].get("type") == "template")


def test_a_broadcast_reaches_every_subscriber_once_paced_by_two_publishers(active, client):
    numbers = list(range(1, CHUNK + 21))  # more than one chunk in some shards
    import_contacts(active, client, numbers)
    ident = publish_broadcast(active, client)
    outcomes = run_chunks(client, publishers=2)
    assert "sent" in outcomes
    received = sent_to(active)
    assert set(received) == {f"9198765{n:05d}" for n in numbers}, "every subscriber"
    assert set(received.values()) == {1}, "each once"
    refused = [r for r in active.sandbox.received("whatsapp") if r["status"] != 200]
    assert refused == [], f"no throughput or pair-rate refusal: {refused[:1]}"
    template = next(r for r in active.sandbox.received("whatsapp") if r["status"] == 200)["body"]["template"]
    assert template["name"] == "budget_update"
    # every status webhook the sandbox sent back, delivered to the app, then the roll-up
    for body, headers in active.sandbox.take_webhooks():
        client.http.post("/webhooks/whatsapp", body=body, headers={**headers, "Content-Type": "application/json"},
                         member=None)
    [listed] = active.container.broadcaster.rollups(active.clock.now().replace(hour=0))
    assert listed["id"] == ident
    assert listed["rollup"]["contacts"] == len(numbers)
    assert listed["rollup"]["sent"] == listed["rollup"]["delivered"] == len(received)
    assert listed["rollup"]["failed_total"] == 0 and listed["rollup"]["waiting"] == 0
    overview = client.http.get("/api/overview", member="state-01").json_body
    assert [b["id"] for b in overview["broadcasts"]] == [ident]
    assert overview["broadcasts"][0]["rollup"]["delivered"] == len(received)
    own = client.http.get("/api/overview", member="sahada-02").json_body["broadcasts"]
    assert [b["id"] for b in own] == [ident], "the constituency's team sees its broadcast"
    client.lambda_.invoke("daily_report", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[], region="ap-south-1"))
    csv_text = active.read("reports/2021-03-03/broadcasts.csv").decode()
    assert ident in csv_text and f",{len(numbers)},{len(received)},{len(received)}," in csv_text, csv_text
    assert "Broadcasts to subscribers" in active.read("reports/2021-03-03/report.html").decode()
    # delivered again: nothing is sent twice
    publish_again = run_chunks(client)
    assert publish_again == [] and sent_to(active) == received


def test_a_stop_that_lands_mid_broadcast_stops_the_messages_not_yet_sent(active, client):
    import_contacts(active, client, range(1, 31))
    publish_broadcast(active, client)
    _, first = chunk_messages(10)  # the chunks are queued; a voter replies STOP before theirs is sent
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=BROADCAST_QUEUE)["QueueUrl"]
    for m in first:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    active.sandbox.open_window("+919876500007", to_number="3000002", text="रोकें")
    active.sandbox.open_window("+919876500008", to_number="3000002", text="STOP")
    for body, headers in active.sandbox.take_webhooks():
        client.http.post("/webhooks/whatsapp", body=body, headers={**headers, "Content-Type": "application/json"},
                         member=None)
    active.clock.advance_to(active.clock.now().replace(second=59))  # past the pair rate of the confirmations
    run_chunks(client)
    received = sent_to(active)
    assert "919876500007" not in received and "919876500008" not in received
    assert len(received) == 28
    [listed] = active.container.broadcaster.rollups(active.clock.now().replace(hour=0))
    assert listed["rollup"]["skipped"] == 2


def test_a_pause_holds_every_chunk_until_it_is_lifted(active, client):
    import_contacts(active, client, range(1, 11))
    publish_broadcast(active, client)
    from chalicelib import entry

    pause = {"scope": "constituency/sahada", "reason": "a complaint"}
    assert client.http.post("/api/pause", body=json.dumps(pause), member="state-01").status_code == 200
    messages = []
    while batch := chunk_messages(10)[1]:
        messages += batch
    chunks = [{"Records": [{"body": m["Body"]}]} for m in messages]
    outcomes = [o for event in chunks for o in entry.send_broadcast_chunks(event)]
    assert set(outcomes) == {"held"} and sent_to(active) == Counter()
    assert client.http.post("/api/resume", body=json.dumps(pause), member="state-01").status_code == 200
    for event in chunks:  # SQS brings each held chunk back after its delay
        entry.send_broadcast_chunks(event)
    assert len(sent_to(active)) == 10


def test_a_broadcast_without_an_mcmc_certificate_cannot_be_approved(active, client):
    active.put(POST_KEY, MANIFEST.replace("mcmc_certificate: MCMC/BHL/2021/017\n", ""))
    client.lambda_.invoke("on_content_upload", active.s3_event(POST_KEY))
    path = f"/api/posts/{content_id_for(POST_KEY)}"
    revision = client.http.get(path, member="state-01").json_body["revision"]
    refused = client.http.post(f"{path}/approve", body=json.dumps({"revision": revision}), member="state-01")
    assert refused.status_code == 403 and "mcmc_certificate" in json.dumps(refused.json_body)
