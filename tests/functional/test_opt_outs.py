"""STOP, START and Meta's marketing stop, through the signed webhook on the emulator and the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta

from chalicelib.domain.audience import SHARDS
from tests.functional.test_audience_import import HEADER, KEY, rows

NUMBER = "3000002"  # wa-sahada's phone number id


def imported(world, client, numbers=(1, 2), language="hi"):
    world.put(KEY, HEADER + rows(numbers, language=language))
    client.lambda_.invoke("on_audience_upload", world.s3_event(KEY))


def deliver(world, client):
    """Every webhook the sandbox has for the app; the answers to those that carried a STOP or a START."""
    answers = [client.http.post("/webhooks/whatsapp", body=body, headers={**headers,
                                                                          "Content-Type": "application/json"},
                                member=None).json_body for body, headers in world.sandbox.take_webhooks()]
    return [a for a in answers if any(k.startswith("audience_") for k in a)]


def replies(world, to):
    return [r["body"]["text"]["body"] for r in world.sandbox.received("whatsapp")
            if r["body"].get("to", "").lstrip("+") == to and r["status"] == 200]


def suppressed(world, phone):
    found = world.container.audience.suppression(world.container.vault.digest(phone))
    return found.reason if found else None


def test_a_stop_in_hindi_suppresses_at_once_confirms_in_hindi_and_no_reimport_undoes_it(active, client):
    imported(active, client)
    active.sandbox.open_window("+919876500001", to_number=NUMBER, text=" रोकें 🙏")
    [answer] = deliver(active, client)
    assert answer["audience_stopped"] == 1
    assert suppressed(active, "+919876500001") == "stop"
    [confirmation] = replies(active, "919876500001")
    assert "START" in confirmation and "बंद" in confirmation, "in the contact's language"
    kinds = [e.kind for e in active.container.store.activity_on(active.clock.now().date())]
    assert "audience.stopped" in kinds
    active.put(KEY, HEADER + rows([1, 2, 3]))  # the team uploads the list again, with a new row
    client.lambda_.invoke("on_audience_upload", active.s3_event(KEY))
    assert active.error_report(KEY)["counts"] == {"opted_out": 1, "unchanged": 1, "added": 1}


def test_a_stop_delivered_twice_is_confirmed_once_and_an_english_contact_hears_english(active, client):
    imported(active, client, language="en")
    active.sandbox.open_window("+919876500002", to_number=NUMBER, text="STOP")
    envelopes = active.sandbox.take_webhooks()
    for body, headers in envelopes + envelopes:  # Meta delivers it again
        client.http.post("/webhooks/whatsapp", body=body, headers={**headers, "Content-Type": "application/json"},
                         member=None)
    [confirmation] = replies(active, "919876500002")
    assert confirmation.startswith("You asked us to stop")


def test_start_resubscribes_with_a_new_consent_record_but_never_after_an_erasure(active, client):
    imported(active, client)
    active.sandbox.open_window("+919876500001", to_number=NUMBER, text="stop")
    deliver(active, client)
    active.clock.advance_to(active.clock.now() + timedelta(seconds=7))  # WhatsApp's pair rate, for the reply
    active.sandbox.open_window("+919876500001", to_number=NUMBER, text="START")
    [answer] = deliver(active, client)
    assert answer["audience_started"] == 1 and suppressed(active, "+919876500001") is None
    digest = active.container.vault.digest("+919876500001")
    contact = active.container.audience.contact("sahada", digest)
    assert contact.consent_source == "whatsapp START reply" and contact.consent_at == active.clock.now()
    active.container.audience.suppress(active.container.vault.digest("+919876500002"), "erased", active.clock.now())
    active.container.audience.delete_contacts("sahada", [active.container.vault.digest("+919876500002")])
    active.sandbox.open_window("+919876500002", to_number=NUMBER, text="start")
    [answer] = deliver(active, client)
    assert answer["audience_start_unknown"] == 1 and suppressed(active, "+919876500002") == "erased"


def test_metas_marketing_stop_suppresses_and_its_resume_lifts_only_that(active, client):
    imported(active, client)
    active.sandbox.marketing_preference("+919876500001", "stop", to_number=NUMBER)
    deliver(active, client)
    assert suppressed(active, "+919876500001") == "marketing_stop"
    assert replies(active, "919876500001") == [], "Meta told them already"
    active.sandbox.marketing_preference("+919876500001", "resume", to_number=NUMBER)
    deliver(active, client)
    assert suppressed(active, "+919876500001") is None
    assert sum(1 for s in SHARDS for _ in active.container.audience.contacts("sahada", s)) == 2


def erase(client, phone, member="state-01"):
    return client.http.post("/api/audience/erase", body=json.dumps({"phone": phone}),
                            headers={"Content-Type": "application/json"}, member=member)


def test_a_coordinator_erases_a_number_for_good_and_only_its_digest_stays(active, client):
    imported(active, client)
    assert erase(client, "98765 00001", "sahada-01").status_code == 403, "a lead may not: it cannot be undone"
    assert erase(client, "12").status_code == 400
    answer = erase(client, "98765 00001")
    assert answer.status_code == 200 and answer.json_body == {"erased": "+91XXXXXX0001", "contacts_deleted": 1,
                                                              "constituencies": ["sahada"]}
    assert suppressed(active, "+919876500001") == "erased"
    assert active.container.audience.contact("sahada", active.container.vault.digest("+919876500001")) is None
    client.lambda_.invoke("on_audience_upload", active.s3_event(KEY))  # the same file, S3 delivering it again
    active.put(KEY, HEADER + rows([1, 2]) + "\n")  # and the team's next upload
    client.lambda_.invoke("on_audience_upload", active.s3_event(KEY))
    assert active.error_report(KEY)["counts"] == {"erased": 1, "unchanged": 1}
    logged = [e.message for e in active.container.store.activity_on(active.clock.now().date())
              if e.kind == "audience.erased"]
    assert logged and "9876500001" not in logged[0] and "state-01" in logged[0]


def test_contacts_are_purged_after_the_retention_and_the_stop_list_stays(active, client):
    from tests.functional.test_failure_classes import scheduled_event

    imported(active, client, numbers=(1, 2, 3))
    active.container.audience.suppress(active.container.vault.digest("+919876500003"), "stop", active.clock.now())
    active.at("2021-05-31T03:00:00+05:30")  # counting 2 May + 30 days is 1 June
    assert client.lambda_.invoke("audience_purge", scheduled_event(client)).payload == {}
    active.at("2021-06-01T03:00:00+05:30")
    assert client.lambda_.invoke("audience_purge", scheduled_event(client)).payload == {"sahada": 3}
    assert sum(1 for s in SHARDS for _ in active.container.audience.contacts("sahada", s)) == 0
    assert suppressed(active, "+919876500003") == "stop", "the stop list keeps its digests"
    assert active.read("reports/2021-06-01/audience/purge-sahada.json") is not None
    assert client.lambda_.invoke("audience_purge", scheduled_event(client)).payload == {}, "nothing left"
