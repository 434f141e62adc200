"""The alarms of infra/resources.yaml watch metrics the code really emits, with the dimensions it emits them with: an
alarm on a metric nobody writes would stay quiet for ever."""

import re
from pathlib import Path

from local.provision import _template

ROOT = Path(__file__).resolve().parents[2]


def emitted() -> dict[str, set[frozenset[str]]]:
    """Metric name → the dimension-name sets it is written with (chalicelib's count() and emit() calls)."""
    found: dict[str, set[frozenset[str]]] = {}
    for path in (ROOT / "chalicelib").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name, rest in re.findall(r'\bcount\("(\w+)",([^)]*)\)', text):
            extra = set(re.findall(r"\b(\w+)=", rest)) - {"platform", "scope", "value", "unit"}
            found.setdefault(name, set()).update({frozenset({"service", "platform", "scope", *extra}),
                                                  frozenset({"service", "platform"})})
        for name, rest in re.findall(r'\bemit\("(\w+)",?([^)]*)\)', text):
            extra = set(re.findall(r"\b(\w+)=", rest)) - {"value", "unit"}
            found.setdefault(name, set()).add(frozenset({"service", *extra}))
    return found


def alarms() -> dict[str, dict]:
    return {name: r["Properties"] for name, r in _template()["Resources"].items()
            if r["Type"] == "AWS::CloudWatch::Alarm"}


def test_every_alarm_on_our_namespace_reads_a_metric_the_code_emits_with_its_exact_dimensions():
    metrics = emitted()
    assert {"Published", "Failed", "PublishingLag", "Alerts"} <= set(metrics)
    watched = []
    for name, alarm in alarms().items():
        stats = [q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if "MetricStat" in q]
        if alarm.get("Namespace"):
            stats.append({"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                          "Dimensions": alarm["Dimensions"]})
        for metric in stats:
            if metric["Namespace"] != "Prachar":
                continue
            dimensions = frozenset(d["Name"] for d in metric["Dimensions"])
            assert dimensions in metrics.get(metric["MetricName"], set()), (name, metric["MetricName"], dimensions)
            watched.append(metric["MetricName"])
    assert sorted(set(watched)) == ["Alerts", "Failed", "Published", "PublishingLag"]


def test_every_alarm_tells_the_stages_topic_and_waits_for_a_deployed_stage():
    assert len(alarms()) == 12
    for name, resource in _template()["Resources"].items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            assert resource["Condition"] == "Deployed", name
            assert len(resource["Properties"]["AlarmActions"]) == 1, name
