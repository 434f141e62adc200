"""Content calendars: one post per row, bad rows reported by row and column, re-uploads never duplicate."""

import pytest

from chalicelib.domain.post import PostStatus, content_id_for

KEY = "calendar/constituency/sahada/2021-03/week-2.csv"
HEADER = "publish_at,platforms,title,text,link,media,series"


def excel(lines):
    """How Excel saves "CSV UTF-8": a byte-order mark and CRLF line ends."""
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def upload(world, client, body):
    world.put(KEY, body)
    client.lambda_.invoke("on_calendar_upload", world.s3_event(KEY))


def statuses(world, title):
    _, posts = world.container.store.content_with_posts(content_id_for(f"{KEY}#{title}"))
    return {p.account_id: p.status for p in posts}


GOOD_AND_BAD = [
    HEADER,
    '2021-03-10T09:00,facebook;x,बजट — दिन 1,"सहाड़ा में नया महाविद्यालय।\r\nदूसरी पंक्ति",https://example.org/1,,budget-2021',
    "2021-03-11T09:00,facebook,बजट — दिन 2,सहाड़ा में सड़कें,,,budget-2021",
    "next week,facebook,बजट — दिन 3,समय गलत है,,,",
    "2021-03-13T09:00,myspace,बजट — दिन 4,मंच गलत है,,,",
    "",
    "2021-03-14T09:00,facebook,बजट — दिन 2,दोहराया शीर्षक,,,",
    "2021-03-15T09:00,twitter,बजट — दिन 6,X के लिए,,,",
]


def test_good_rows_go_ahead_and_bad_rows_are_reported_by_row_and_column(active, client):
    upload(active, client, excel(GOOD_AND_BAD))
    assert set(statuses(active, "बजट — दिन 1")) == {"fb-sahada", "x-sahada"}
    assert statuses(active, "बजट — दिन 2") == {"fb-sahada": PostStatus.SCHEDULED}
    assert statuses(active, "बजट — दिन 6") == {"x-sahada": PostStatus.SCHEDULED}
    report = active.error_report(KEY)
    assert sorted((p["row"], p["field"]) for p in report["problems"]) == [
        (4, "publish_at"), (5, "platforms[0]"), (7, "title")]
    assert "the other rows went ahead" in report["summary"]
    post = active.container.store.post(content_id_for(f"{KEY}#बजट — दिन 1"), "fb-sahada")
    assert post.payload["text"] == "सहाड़ा में नया महाविद्यालय।\nदूसरी पंक्ति", "a quoted newline stays in the text"
    [summary] = [e for e in active.container.store.activity_on(active.clock.now().date())
                 if e.kind == "calendar.processed"]
    assert "3 row(s) scheduled" in summary.message and "rows 4, 5, 7" in summary.message


def test_the_same_file_again_duplicates_nothing_and_changed_rows_replace_unpublished_posts(active, client):
    upload(active, client, excel(GOOD_AND_BAD[:3]))
    first = active.container.store.post(content_id_for(f"{KEY}#बजट — दिन 2"), "fb-sahada")
    upload(active, client, excel(GOOD_AND_BAD[:3]))
    again = active.container.store.post(content_id_for(f"{KEY}#बजट — दिन 2"), "fb-sahada")
    assert again.revision == first.revision == 1
    changed = [HEADER, GOOD_AND_BAD[1], "2021-03-12T10:00,facebook,बजट — दिन 2,नया पाठ,,,budget-2021"]
    upload(active, client, excel(changed))
    replaced = active.container.store.post(content_id_for(f"{KEY}#बजट — दिन 2"), "fb-sahada")
    assert (replaced.revision, replaced.payload["text"]) == (2, "नया पाठ")
    assert replaced.due_at.isoformat() == "2021-03-12T04:30:00+00:00"


def test_a_published_row_is_not_sent_again_and_a_removed_row_is_withdrawn(active, client):
    upload(active, client, excel(GOOD_AND_BAD[:3]))
    active.at("2021-03-10T09:00:00+05:30")
    client.lambda_.invoke("publishing_clock", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    client.lambda_.invoke("on_publish_message", active.sqs_event(active.receive()))
    assert set(statuses(active, "बजट — दिन 1").values()) == {PostStatus.PUBLISHED}
    # LibreOffice this time: no byte-order mark, LF line ends; the first row edited, the second removed.
    edited = "\n".join([HEADER, '2021-03-10T09:00,facebook;x,बजट — दिन 1,"बदला हुआ पाठ",,,budget-2021']) + "\n"
    upload(active, client, edited.encode("utf-8"))
    assert set(statuses(active, "बजट — दिन 1").values()) == {PostStatus.PUBLISHED}
    assert statuses(active, "बजट — दिन 2") == {"fb-sahada": PostStatus.WITHDRAWN}
    assert len(active.sandbox.received()) == 2  # facebook and x, once


@pytest.mark.parametrize("body, words", [
    (b"", "empty"),
    ("title,text\r\nएक,दो\r\n".encode(), "no publish_at column"),
    (b"publish_at,title,colour\r\n2021-03-10T09:00,t,red\r\n", "not a calendar column"),
    ("publish_at,title\r\n2021-03-10T09:00,सहाड़ा\r\n".encode("utf-16"), "not UTF-8"),
])
def test_a_file_that_cannot_be_read_as_a_calendar_is_rejected_whole(active, client, body, words):
    upload(active, client, body)
    report = active.error_report(KEY)
    assert words in report["problems"][0]["problem"]
