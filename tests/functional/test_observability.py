"""What CloudWatch gets from a publish, through the real handlers: EMF metrics by platform and scope (published,
due-to-published latency, held with its reason, retries), and log lines that carry the unit of work's ids — and a
warm Lambda's next invocation does not carry the last one's."""

from __future__ import annotations

import json

from local.sandbox import Fault

KEY = "content/constituency/sahada/observed.yaml"


def lines(captured: str) -> list[dict]:
    found = []
    for line in captured.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def metrics(records: list[dict]) -> list[tuple[str, dict, float, str]]:
    """(name, dimensions, value, unit) of each EMF metric printed."""
    found = []
    for record in records:
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Namespace"] == "Prachar"
            [dimension_names] = directive["Dimensions"]
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                found.append((metric["Name"], {d: record[d] for d in dimension_names if d != "service"},
                              sum(value) if isinstance(value, list) else value, metric["Unit"]))
                assert record["service"] == "prachar"
    return found


def tick(client):
    client.lambda_.invoke("publishing_clock", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))


def publish_once(active, client, emf, capfd, platforms: str, fault: Fault, at: str) -> list[dict]:
    """A post for `platforms` due at 09:00, published at `at` with `fault` injected: what its Lambda printed."""
    active.put(KEY, f"title: t\ntext: सहाड़ा\nplatforms: [{platforms}]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    active.sandbox.inject(fault)
    active.at(at)
    tick(client)
    capfd.readouterr()
    emf.lines.clear()
    client.lambda_.invoke("on_publish_message", active.sqs_event(active.receive()))
    return lines(capfd.readouterr().out)


def test_a_publish_emits_its_metrics_and_every_line_of_it_carries_the_posts_ids(active, client, emf, capfd):
    records = publish_once(active, client, emf, capfd, "facebook, x",
                           Fault("x", "server_error", account_id="x-sahada", times=1), "2021-03-05T09:02:30+05:30")

    emitted = metrics(records)
    published = [(d, v) for n, d, v, _ in emitted if n == "Published"]
    assert published == [({"platform": "facebook", "scope": "constituency/sahada"}, 1.0),
                         ({"platform": "facebook"}, 1.0)], "by platform and scope, and by platform for its alarm"
    latency = [(d, v, u) for n, d, v, u in emitted if n == "DueToPublished"]
    assert latency[0][0] == {"platform": "facebook", "scope": "constituency/sahada"}
    assert latency[0][1] >= 150 and latency[0][2] == "Seconds", "due 09:00, out at 09:02:30"
    assert [d for n, d, _, _ in emitted if n == "Retries"] == [{"platform": "x", "scope": "constituency/sahada"},
                                                                {"platform": "x"}]

    logged = lines("\n".join(emf.lines))
    assert logged, "the publish logged its steps"
    for record in logged:
        assert record.get("content_id") and record.get("post_id", "").startswith(record["content_id"]), record
        assert record["function_request_id"], "and the invocation's request id"

    # The same warm Lambda, its next invocation: the last post's ids are gone from its lines.
    emf.lines.clear()
    active.at("2021-03-05T09:30:00+05:30")
    tick(client)
    later = lines("\n".join(emf.lines))
    assert later, "the clock requeued the post to retry, and said so"
    assert all("post_id" not in r and "content_id" not in r for r in later)


def test_a_hold_is_counted_with_its_reason(active, client, emf, capfd):
    emitted = metrics(publish_once(active, client, emf, capfd, "facebook",
                                   Fault("facebook", "rate_limit", account_id="fb-sahada", times=1),
                                   "2021-03-05T09:01:00+05:30"))
    assert ("Throttled", {"platform": "facebook", "scope": "constituency/sahada"}) in [(n, d) for n, d, _, _ in emitted]
    assert ("Held", {"platform": "facebook", "scope": "constituency/sahada", "reason": "held_throttled"}) in \
        [(n, d) for n, d, _, _ in emitted]
