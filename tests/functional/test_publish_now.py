"""A post due already — no time given, a time past, or approved after its time — goes to the queue from the upload
or the approval itself, not at the publishing clock's next minute; and never twice, whoever queues it."""

import json

from chalicelib.domain.post import PostStatus, content_id_for

KEY = "content/constituency/sahada/now.yaml"
CALENDAR = "calendar/constituency/sahada/week.csv"


def tick(client):
    return client.lambda_.invoke("publishing_clock", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])).payload


def accounts(messages):
    return sorted(json.loads(m["Body"])["account_id"] for m in messages)


def test_a_manifest_without_a_time_is_queued_by_its_upload_and_the_clock_queues_it_no_more(active, client):
    active.at("2021-03-05T10:00:00+05:30")
    active.put(KEY, "title: अभी\ntext: सहाड़ा में आज\nplatforms: [facebook, x]\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    messages = active.receive()
    assert accounts(messages) == ["fb-sahada", "x-sahada"], "queued by the upload, before any clock run"
    assert tick(client)["queued"] == 0
    client.lambda_.invoke("on_publish_message", active.sqs_event(messages))
    _, posts = active.container.store.content_with_posts(content_id_for(KEY))
    assert {p.status for p in posts} == {PostStatus.PUBLISHED}
    assert len(active.sandbox.received()) == 2


def test_a_time_still_to_come_waits_for_the_clock(active, client):
    active.at("2021-03-05T10:00:00+05:30")
    active.put(KEY, "title: बाद में\ntext: सहाड़ा\nplatforms: [facebook]\npublish_at: 2021-03-05T10:05:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    assert active.receive() == []


def test_a_calendar_row_due_already_is_queued_by_its_upload(active, client):
    active.at("2021-03-05T10:00:00+05:30")
    active.put(CALENDAR, "publish_at,platforms,title,text,link,media,series\r\n"
                         "2021-03-05T09:00:00+05:30,facebook,सुबह,सहाड़ा में सुबह,,,\r\n"
                         "2021-03-06T09:00:00+05:30,facebook,कल,सहाड़ा में कल,,,\r\n")
    client.lambda_.invoke("on_calendar_upload", active.s3_event(CALENDAR))
    assert accounts(active.receive()) == ["fb-sahada"], "today's row at once; tomorrow's waits"
