"""`make redrive`: dead-lettered publish messages go back to their queue and each post still goes out once — even
when a redrive stopped between sending and deleting put every message back twice."""

from __future__ import annotations

from collections import Counter

from chalicelib.adapters import aws
from chalicelib.domain.post import PostStatus, content_id_for
from infra.redrive import redrive

KEY = "content/constituency/sahada/redriven.yaml"


def test_dead_lettered_messages_sent_back_twice_publish_each_post_once(active, client):
    active.put(KEY, "title: बजट घोषणा\ntext: सहाड़ा में नया महाविद्यालय\nlink: https://example.org/b\n"
                    "publish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    active.at("2021-03-05T09:01:00+05:30")
    client.lambda_.invoke("publishing_clock", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    sqs = aws.client("sqs")
    dead_letters = sqs.get_queue_url(QueueName="prachar-test-publish-dlq")["QueueUrl"]
    queued = active.receive()
    assert len(queued) == 3, "one message per account"
    for message in queued:  # their Lambda failed them until SQS gave up on them
        for _ in range(2):
            sqs.send_message(QueueUrl=dead_letters, MessageBody=message["Body"])
        sqs.delete_message(QueueUrl=active.queue_url(), ReceiptHandle=message["ReceiptHandle"])

    assert redrive(sqs, active.queue_url(), dead_letters) == 6
    assert not sqs.receive_message(QueueUrl=dead_letters).get("Messages"), "the dead-letter queue is empty"
    back = []
    while batch := active.receive():
        back += batch
    assert sorted(m["Body"] for m in back) == sorted(m["Body"] for m in queued * 2)
    client.lambda_.invoke("on_publish_message", active.sqs_event(back))

    _, posts = active.container.store.content_with_posts(content_id_for(KEY))
    assert {p.status for p in posts} == {PostStatus.PUBLISHED}
    accepted = [r for r in active.sandbox.received() if r["status"] < 300]
    assert Counter(r["platform"] for r in accepted) == Counter({"facebook": 1, "x": 1, "whatsapp": 2}), \
        "each post once (on WhatsApp, once to each of the team's two members), though its message came twice"
