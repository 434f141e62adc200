"""The audience store's contract: the DynamoDB store (on the emulator) and the in-memory one behave alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters import aws
from chalicelib.adapters.audience_store import AudienceStore
from chalicelib.adapters.memory_audience import InMemoryAudience
from chalicelib.domain.audience import SHARDS, Sealed, StoredContact

NOW = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)


@pytest.fixture(params=["dynamodb", "memory"])
def audience(request: pytest.FixtureRequest):
    if request.param == "dynamodb":
        request.getfixturevalue("world")
        return AudienceStore(aws.client("dynamodb"), "prachar-test", sleep=lambda _: None)
    return InMemoryAudience()


def digest(n: int) -> str:
    return f"{n:064x}"[::-1]  # spread over the shards by the first digit


def contact(n: int, constituency: str = "sahada", **changes) -> StoredContact:
    values = dict(constituency=constituency, digest=digest(n), sealed=Sealed(f"blob-{n}", "key-1"),
                  consent_source="missed call", consent_at=NOW - timedelta(days=2), notice_version="v1",
                  language="hi", source_key="audience/sahada/list.csv", updated_at=NOW, expires_at=1_700_000_000)
    values.update(changes)
    return StoredContact(**values)


def test_contacts_are_saved_found_and_listed_by_shard(audience):
    contacts = [contact(n) for n in range(40)]
    assert audience.save_contacts(contacts) == [], "none kept back"
    found, suppressed = audience.known("sahada", [digest(n) for n in range(45)])
    assert set(found) == {digest(n) for n in range(40)} and suppressed == {}
    assert found[digest(3)] == contacts[3]
    assert audience.contact("sahada", digest(3)) == contacts[3]
    assert audience.contact("sujangarh", digest(3)) is None, "another constituency's list"
    listed = [c for shard in SHARDS for c in audience.contacts("sahada", shard)]
    assert sorted(c.digest for c in listed) == sorted(c.digest for c in contacts)


def test_a_batch_over_the_limits_of_one_call_is_read_and_written_whole(audience):
    audience.save_contacts([contact(n) for n in range(130)])
    found, _ = audience.known("sahada", [digest(n) for n in range(130)])
    assert len(found) == 130


def test_a_saved_contact_replaces_the_one_before(audience):
    audience.save_contacts([contact(1)])
    audience.save_contacts([contact(1, notice_version="v2", language="en")])
    assert (audience.contact("sahada", digest(1)).notice_version, audience.contact("sahada", digest(1)).language) == (
        "v2", "en")


def test_a_contact_keeps_its_latest_consent_and_the_later_upload_of_a_file_wins(audience):
    later = contact(1, consent_at=NOW - timedelta(days=1), generation=1)
    assert audience.save_contacts([later]) == []
    older = contact(1, consent_at=NOW - timedelta(days=3), generation=2, notice_version="v0")
    assert audience.save_contacts([older]) == [digest(1)], "an older consent never replaces a later one"
    stale = contact(1, consent_at=later.consent_at, generation=0, language="en")
    assert audience.save_contacts([stale]) == [digest(1)], "nor does an earlier upload of the same file"
    corrected = contact(1, consent_at=later.consent_at, generation=2, fingerprint="corrected name", row=7,
                        counted="updated")
    other_file = contact(2, consent_at=later.consent_at, source_key="audience/sahada/other.csv")
    assert audience.save_contacts([corrected, other_file]) == []
    assert audience.contact("sahada", digest(1)) == corrected
    precise = contact(3, consent_at=NOW - timedelta(microseconds=250_000))
    audience.save_contacts([precise])
    assert audience.contact("sahada", digest(3)).consent_at == precise.consent_at, "sub-second consent times kept"


def test_uploads_of_a_key_are_numbered_in_order(audience):
    assert audience.generation("audience/sahada/list.csv") == 0
    assert [audience.next_generation("audience/sahada/list.csv") for _ in range(3)] == [1, 2, 3]
    assert audience.generation("audience/sahada/list.csv") == 3
    assert audience.generation("audience/sahada/other.csv") == 0


def test_contacts_are_deleted(audience):
    audience.save_contacts([contact(1), contact(2)])
    audience.delete_contacts("sahada", [digest(1), digest(9)])
    assert audience.contact("sahada", digest(1)) is None and audience.contact("sahada", digest(2)) is not None


def test_a_stop_suppresses_once_an_erasure_overrides_it_and_only_a_stop_is_lifted(audience):
    assert audience.suppress(digest(1), "stop", NOW)
    assert not audience.suppress(digest(1), "marketing_stop", NOW), "already stopped"
    _, suppressed = audience.known("sahada", [digest(1), digest(2)])
    assert list(suppressed) == [digest(1)] and suppressed[digest(1)].reason == "stop"
    assert audience.lift_suppression(digest(1), ["stop", "marketing_stop"])
    assert audience.suppression(digest(1)) is None
    assert not audience.lift_suppression(digest(1), ["stop"]), "nothing to lift"
    assert audience.suppress(digest(2), "stop", NOW)
    assert audience.suppress(digest(2), "erased", NOW), "an erasure is the stronger word"
    assert not audience.suppress(digest(2), "stop", NOW)
    assert not audience.lift_suppression(digest(2), ["stop", "marketing_stop"]), "a START never undoes an erasure"
    assert audience.suppression(digest(2)).reason == "erased"


def test_an_import_state_moves_by_versions_so_two_runs_never_both_continue(audience):
    assert audience.import_state("audience/sahada/a.csv", "etag-1") is None
    assert audience.save_import_state("audience/sahada/a.csv", "etag-1", {"rows": 0}, version=0)
    assert not audience.save_import_state("audience/sahada/a.csv", "etag-1", {"rows": 0}, version=0), "one starts"
    state = audience.import_state("audience/sahada/a.csv", "etag-1")
    assert state["version"] == 1 and state["rows"] == 0
    assert audience.save_import_state("audience/sahada/a.csv", "etag-1", {"rows": 500}, version=1)
    assert not audience.save_import_state("audience/sahada/a.csv", "etag-1", {"rows": 400}, version=1), "stale"
    assert audience.import_state("audience/sahada/a.csv", "etag-1")["rows"] == 500
    assert audience.import_state("audience/sahada/a.csv", "etag-2") is None, "other bytes, another import"


def test_an_inbound_message_is_acted_on_once(audience):
    assert not audience.seen("IN#wamid.1")
    assert audience.first_time("IN#wamid.1", NOW)
    assert audience.seen("IN#wamid.1")
    assert not audience.first_time("IN#wamid.1", NOW), "Meta delivered it again"
    assert audience.first_time("IN#wamid.2", NOW)


def test_both_audience_stores_are_the_port_the_services_take():
    from chalicelib.ports import AudienceRecords

    assert isinstance(InMemoryAudience(), AudienceRecords)
    assert isinstance(AudienceStore(client=None, table="t"), AudienceRecords)

