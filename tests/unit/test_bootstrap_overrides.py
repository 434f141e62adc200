"""The wiring takes in-memory adapters in place of the real ones, and then never builds a boto3 client."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib import bootstrap
from chalicelib.adapters import aws
from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryBucket, InMemoryQueue, InMemorySecrets, InMemoryStore
from chalicelib.bootstrap import Container, Overrides
from chalicelib.domain.post import REPLACEABLE, Post, PostStatus
from chalicelib.settings import load_settings

NOW = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)


@pytest.fixture()
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(service: str) -> None:
        raise AssertionError(f"a boto3 {service} client was built although a fake stands in for it")

    refuse.cache_clear = lambda: None  # bootstrap.use() resets the client cache
    monkeypatch.setattr(aws, "client", refuse)


@pytest.fixture()
def fakes() -> Overrides:
    return Overrides(store=InMemoryStore(), bucket=InMemoryBucket(), publish_queue=InMemoryQueue(),
                     secrets=InMemorySecrets({"/prachar/test/fb": "tok"}), platforms={})


def test_each_override_takes_the_place_of_the_real_adapter(no_aws, fakes):
    container = Container(load_settings(), SteppedClock(NOW), fakes)
    assert container.store is fakes.store and container.bucket is fakes.bucket
    assert container.publish_queue is fakes.publish_queue and container.secrets is fakes.secrets
    assert container.platforms() is fakes.platforms
    assert container.ingest().bucket is fakes.bucket
    assert container.publisher.secrets is fakes.secrets
    container.activity.record("test.wired", "state", "the activity log writes to the fake")
    assert [e.kind for e in fakes.store.activity_on(NOW.date())] == ["test.wired"]


def test_without_overrides_the_real_adapters_are_still_built_lazily():
    container = Container(load_settings(), SteppedClock(NOW))
    assert not {"store", "bucket", "publish_queue", "secrets"} & container.__dict__.keys()
    assert type(container.secrets).__name__ == "SecretStore"


def test_use_wires_the_handlers_container_with_the_overrides(no_aws, fakes):
    saved = (bootstrap._container, bootstrap._clock_override, bootstrap._adapter_overrides)
    try:
        container = bootstrap.use(SteppedClock(NOW), fakes)
        assert bootstrap.container() is container and container.store is fakes.store
    finally:
        bootstrap._container, bootstrap._clock_override, bootstrap._adapter_overrides = saved


def test_the_publishing_clock_runs_on_the_fakes(no_aws, fakes):
    clock = SteppedClock(NOW)
    container = Container(load_settings(), clock, fakes)
    post = Post(content_id="c1", account_id="fb-sahada", platform="facebook", scope="constituency/sahada",
                status=PostStatus.SCHEDULED, due_at=NOW, revision=1, payload={"text": "नमस्ते"}, wake_at=NOW)
    fakes.store.place_post(post, REPLACEABLE)
    assert container.dispatcher().run().queued == ["c1.fb-sahada"]
    assert container.dispatcher().run().queued == []  # queued once: the next tick finds nothing due
    assert [m.json_body() for m in fakes.publish_queue.receive()] == [{"content_id": "c1",
                                                                       "account_id": "fb-sahada"}]
    assert fakes.store.post("c1", "fb-sahada").status is PostStatus.QUEUED
