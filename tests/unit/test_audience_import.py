"""The audience import on in-memory fakes: consent row by row, suppression, dedup, resuming, re-uploads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryStore
from chalicelib.adapters.memory_audience import InMemoryAudience
from chalicelib.domain.campaign import Campaign
from chalicelib.services.activity import ActivityLog
from chalicelib.services.audience_import import BATCH, AudienceImport
from tests.support.audience_fakes import FakeBucket, FakeVault
from tests.support.world import CAMPAIGN_FILE

HEADER = "phone,name,consent_source,consent_at,notice_version,language,booth\n"
KEY = "audience/sahada/march.csv"


@pytest.fixture()
def world():
    import yaml

    clock = SteppedClock(datetime(2021, 3, 10, 6, 0, tzinfo=UTC))
    store, audience, bucket, continued = InMemoryStore(), InMemoryAudience(), FakeBucket(), []
    service = AudienceImport(audience, FakeVault(), bucket, ActivityLog(store, clock), clock,
                             lambda key, etag: continued.append((key, etag)))
    campaign = Campaign.model_validate(yaml.safe_load(CAMPAIGN_FILE.read_text(encoding="utf-8")))
    return type("World", (), dict(service=service, audience=audience, bucket=bucket, store=store, clock=clock,
                                  campaign=campaign, continued=continued))


def row(n, **changes):
    values = {"phone": f"98765 {n:05d}", "name": f"नाम {n}", "consent_source": "missed call",
              "consent_at": "2021-03-01T10:00:00+05:30", "notice_version": "v1", "language": "hi", "booth": "12"}
    values.update(changes)
    return ",".join(values.values()) + "\n"


def upload(world, text, etag="e1"):
    world.bucket.objects[(KEY, etag)] = text.encode("utf-8")


def test_rows_with_complete_consent_go_in_and_the_rest_are_listed_with_masked_numbers(world):
    upload(world, HEADER + row(1) + row(2, consent_at="") + row(3, phone="12") + row(4, consent_source="bought list")
           + row(1, consent_at="2021-03-02T10:00:00+05:30") + "\n" + row(5))
    outcome = world.service.run(world.campaign, KEY, "e1", lambda: 900)
    assert outcome.outcome == "imported"
    assert outcome.counts == {"added": 2, "merged": 1, "no_consent": 1, "invalid_number": 1, "not_consent": 1}
    report = world.bucket.errors[KEY]
    assert [p["row"] for p in report["problems"]] == [3, 4, 5]
    text = json.dumps(report, ensure_ascii=False)
    assert "9876500002" not in text and "98765 00002" not in text and "+91XXXXXX0002" in text
    [contact] = [c for s in "0123456789abcdef" for c in world.audience.contacts("sahada", s)
                 if c.digest == FakeVault().digest("+919876500001")]
    assert contact.consent_at == datetime(2021, 3, 2, 4, 30, tzinfo=UTC), "the later consent of the merged rows"
    assert "9876500001" not in repr(contact), "only sealed"
    entry = next(e for e in world.store.activity_on(world.clock.now().date()) if e.kind == "audience.imported")
    assert entry.details["counts"] == outcome.counts and entry.level == "warning"
    assert any(k.startswith("reports/2021-03-10/audience/") for k in world.bucket.reports)


def test_the_same_bytes_again_change_nothing(world):
    upload(world, HEADER + row(1))
    world.service.run(world.campaign, KEY, "e1", lambda: 900)
    again = world.service.run(world.campaign, KEY, "e1", lambda: 900)
    assert again.outcome == "unchanged"
    upload(world, HEADER + row(1) + row(2), etag="e2")
    assert world.service.run(world.campaign, KEY, "e2", lambda: 900).counts == {"unchanged": 1, "added": 1}


def test_a_number_that_said_stop_or_was_erased_is_never_imported_again(world):
    vault = FakeVault()
    world.audience.suppress(vault.digest("+919876500001"), "stop", world.clock.now())
    world.audience.suppress(vault.digest("+919876500002"), "erased", world.clock.now())
    upload(world, HEADER + row(1) + row(2) + row(3))
    outcome = world.service.run(world.campaign, KEY, "e1", lambda: 900)
    assert outcome.counts == {"opted_out": 1, "erased": 1, "added": 1}
    assert world.audience.contact("sahada", vault.digest("+919876500001")) is None


def test_an_import_that_runs_out_of_time_continues_where_it_stopped_with_the_same_result(world):
    text = HEADER + "".join(row(n) for n in range(1, BATCH * 3 + 7)) + row(9, consent_at="")
    upload(world, text)
    clock = iter([30])  # after the first batch 30 s are left: save the place, go on later
    first = world.service.run(world.campaign, KEY, "e1", lambda: next(clock))
    assert first.outcome == "continuing" and world.continued == [(KEY, "e1")]
    assert first.counts == {"added": BATCH}
    done = world.service.run(world.campaign, KEY, "e1", lambda: 900)
    assert done.outcome == "imported" and done.counts == {"added": BATCH * 3 + 6, "no_consent": 1}
    assert sum(1 for s in "0123456789abcdef" for _ in world.audience.contacts("sahada", s)) == BATCH * 3 + 6
    kinds = [e.kind for e in world.store.activity_on(world.clock.now().date())]
    assert kinds.count("audience.progress") == 1 and kinds.count("audience.imported") == 1


def test_a_second_runner_of_the_same_import_stops(world):
    upload(world, HEADER + row(1))
    state = {"status": "running", "offset": 0, "row": 0, "names": None, "counts": {}, "listed": [],
             "started_at": "2021-03-10T06:00:00Z"}
    assert world.audience.save_import_state(KEY, "e1", state, version=0)
    stale = {**state, "version": 0}  # read before the other runner took it
    assert world.service._continue(world.campaign, KEY, "e1", "constituency/sahada", "sahada", stale,
                                   lambda: 900).outcome == "busy"


def test_a_file_without_the_columns_or_for_an_unknown_constituency_is_rejected_whole(world):
    upload(world, "phone,name\n98765 00001,x\n")
    assert world.service.run(world.campaign, KEY, "e1", lambda: 900).outcome == "rejected"
    assert world.bucket.errors[KEY]["problems"][0]["field"] == "consent_source"
    world.bucket.objects[("audience/nowhere/a.csv", "e1")] = (HEADER + row(1)).encode()
    assert world.service.run(world.campaign, "audience/nowhere/a.csv", "e1", lambda: 900).outcome == "rejected"
