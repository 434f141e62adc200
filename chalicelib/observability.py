"""Logs and metrics, through Powertools: one logger per process (every Lambda of the app imports this), correlation
ids on every line of a unit of work, and CloudWatch metrics in the Embedded Metric Format — JSON lines on stdout that
CloudWatch turns into metrics, with no API call and nothing to import at cold start beyond Powertools itself.

Tracing (X-Ray) lives in tracing.py and is imported only when a stage turns it on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from chalicelib import tracing

NAMESPACE = "Prachar"

logger = Logger(service="prachar")


@contextmanager
def correlated(**ids: str | None) -> Iterator[None]:
    """Every log line in the block carries these ids (upload_key, content_id, post_id, broadcast_id, …), so one
    upload's, post's or broadcast's story is one CloudWatch Logs Insights query — and, with tracing on, one X-Ray
    subsegment annotated with them."""
    keys = {name: value for name, value in ids.items() if value}
    logger.append_keys(**keys)
    try:
        with tracing.unit_of_work(keys):
            yield
    finally:
        logger.remove_keys(list(keys))


def count(name: str, *, platform: str, scope: str, value: float = 1.0, unit: MetricUnit = MetricUnit.Count,
          **dimensions: str) -> None:
    """One metric by platform and scope (and any more dimensions, e.g. why a post was held), and again by platform
    alone: a CloudWatch alarm reads one exact dimension set (infra/resources.yaml alarms per platform). Dimensions
    are few and bounded: 3 platforms, a campaign's dozen scopes, a handful of reasons."""
    emit(name, value, unit, platform=platform, scope=scope, **dimensions)
    emit(name, value, unit, platform=platform)


def emit(name: str, value: float = 1.0, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """One EMF metric line with these dimensions (and the service's)."""
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE, default_dimensions=dimensions):
        pass
