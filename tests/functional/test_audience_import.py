"""Audience files through the real handler on the emulator: KMS-sealed contacts, keyed digests, the continuation
queue — and not one plaintext number anywhere in the table (the test reads every item)."""

from __future__ import annotations

import json

from chalicelib.adapters import aws
from chalicelib.domain.audience import SHARDS
from chalicelib.domain.phone import mask

HEADER = "phone,name,consent_source,consent_at,notice_version,language,booth\n"
KEY = "audience/sahada/march.csv"


def rows(numbers, **changes):
    out = []
    for n in numbers:
        values = {"phone": f"+91 98765 {n:05d}", "name": f"मतदाता {n}", "consent_source": "missed call",
                  "consent_at": "2021-03-01T10:00:00+05:30", "notice_version": "v1", "language": "hi",
                  "booth": "12"}
        values.update(changes)
        out.append(",".join(values.values()) + "\n")
    return "".join(out)


def every_item():
    db, items, request = aws.client("dynamodb"), [], {"TableName": "prachar-test"}
    while True:
        page = db.scan(**request)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class Context:
    def __init__(self, seconds):
        self.seconds = list(seconds)

    def get_remaining_time_in_millis(self):
        return (self.seconds.pop(0) if len(self.seconds) > 1 else self.seconds[0]) * 1000


def test_an_import_seals_every_contact_and_leaves_no_plaintext_number_in_the_table(active, client):
    active.put(KEY, HEADER + rows(range(1, 41)) + rows([41], consent_at=""))
    client.lambda_.invoke("on_audience_upload", active.s3_event(KEY))
    container = active.container
    contacts = [c for shard in SHARDS for c in container.audience.contacts("sahada", shard)]
    assert len(contacts) == 40
    opened = container.vault.open(contacts[0].digest, contacts[0].sealed)
    assert opened["phone"].startswith("+9198765") and opened["booth"] == "12"
    table = json.dumps(every_item(), ensure_ascii=False)
    for n in range(1, 42):
        assert f"98765{n:05d}" not in table and f"98765 {n:05d}" not in table, n
        assert f"मतदाता {n}" not in table, "names are sealed too"
    errors = active.error_report(KEY)
    assert errors["counts"]["no_consent"] == 1 and mask("+919876500041") in json.dumps(errors)
    logged = json.dumps([e.__dict__ for e in container.store.activity_on(active.clock.now().date())],
                        ensure_ascii=False, default=str)
    assert "9876500041" not in logged and "9876500001" not in logged


def test_an_import_out_of_time_continues_through_its_queue_and_a_reupload_changes_nothing(active, client,
                                                                                         monkeypatch):
    from chalicelib import entry
    from chalicelib.services import audience_import

    monkeypatch.setattr(audience_import, "BATCH", 10)
    active.put(KEY, HEADER + rows(range(1, 26)))
    assert entry.import_audience(active.s3_event(KEY), Context([30])) == ["continuing"]
    sqs = aws.client("sqs")
    queue = sqs.get_queue_url(QueueName="prachar-test-imports")["QueueUrl"]
    continued = 0
    # The test client's Lambda context has 3 s to spare: each continuation saves its place after a batch and queues
    # the next, until the file is done.
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        [message] = messages
        event = {"Records": [{"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                              "body": message["Body"], "attributes": {}, "messageAttributes": {},
                              "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
                              "eventSourceARN": "arn:aws:sqs:ap-south-1:123456789012:prachar-test-imports",
                              "awsRegion": "ap-south-1"}]}
        client.lambda_.invoke("on_import_continuation", event)
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        continued += 1
    assert continued == 2, "rows 2-11, 12-21, 22-26: three invocations"
    assert sum(1 for s in SHARDS for _ in active.container.audience.contacts("sahada", s)) == 25
    client.lambda_.invoke("on_audience_upload", active.s3_event(KEY))  # S3 delivers the same event again
    kinds = [e.kind for e in active.container.store.activity_on(active.clock.now().date())]
    assert (kinds.count("audience.progress"), kinds.count("audience.imported"), kinds.count("audience.unchanged")) \
        == (2, 1, 1)
    imported = next(e for e in active.container.store.activity_on(active.clock.now().date())
                    if e.kind == "audience.imported")
    assert imported.details["counts"] == {"added": 25}
