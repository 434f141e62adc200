"""pytest fixtures: one emulator and one sandbox per test process; fresh resources for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

import pytest
import yaml

from chalicelib import bootstrap
from chalicelib.adapters import aws
from chalicelib.adapters.clock import SteppedClock
from chalicelib.domain.campaign import Campaign
from infra.identity import ensure_user_pool, user_pool_environment
from local.emulator import Emulator, emulator_environment, free_port
from local.provision import create_resources, register_in_sandbox, seed_account_secrets
from local.sandbox import PlatformSandbox
from tests.support.world import CAMPAIGN_FILE, World

START = "2021-03-03T09:00:00+05:30"


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    server = Emulator(port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[PlatformSandbox]:
    server = PlatformSandbox(port=free_port(), slow_seconds=2.6).start()  # past every client timeout used here
    yield server
    server.stop()


@pytest.fixture()
def world(emulator: Emulator, sandbox: PlatformSandbox) -> Iterator[World]:
    emulator.reset()
    os.environ.update(emulator_environment(emulator.url))
    os.environ.update({"PRACHAR_STAGE": "test", "PRACHAR_CONTENT_BUCKET": "prachar-test-content",
                       "PRACHAR_PUBLISH_QUEUE": "prachar-test-publish", "PRACHAR_TABLE": "prachar-test",
                       "PRACHAR_FACEBOOK_API_BASE": sandbox.url, "PRACHAR_X_API_BASE": sandbox.url,
                       "PRACHAR_WHATSAPP_API_BASE": sandbox.url, "PRACHAR_RETRY_BASE_SECONDS": "0",
                       "PRACHAR_PLATFORM_TIMEOUT": "2",
                       "PRACHAR_FACEBOOK_APP_ID": "900000000000001",
                       "PRACHAR_WHATSAPP_APP_SECRET": sandbox.app_secret,
                       "PRACHAR_WHATSAPP_VERIFY_TOKEN": "test-verify-token"})
    aws.reset_clients()
    os.environ.update({**user_pool_environment(ensure_user_pool(aws.client("cognito-idp"), "test")),
                       "PRACHAR_COGNITO_ENDPOINT": emulator.url})
    clock = SteppedClock(datetime.fromisoformat(START))
    container = bootstrap.use(clock)
    create_resources(aws.client("cloudformation"), "test", {"PublishVisibilityTimeout": "1"})
    sandbox.clock = clock
    sandbox.reset()
    yield World(clock=clock, container=container, sandbox=sandbox)


@pytest.fixture()
def campaign_yaml() -> str:
    return CAMPAIGN_FILE.read_text(encoding="utf-8")


@pytest.fixture()
def active(world: World, campaign_yaml: str) -> World:
    """A world whose campaign is active and whose accounts have tokens the sandbox knows."""
    world.put("config/campaign.yaml", campaign_yaml)
    assert world.container.ingest().config("config/campaign.yaml").outcome == "accepted"
    accounts = Campaign.model_validate(yaml.safe_load(campaign_yaml)).accounts
    register_in_sandbox(world.sandbox, seed_account_secrets(aws.client("ssm"), aws.client("secretsmanager"),
                                                            accounts, "test"))
    for team in yaml.safe_load(campaign_yaml)["teams"]:
        for member in team["members"]:
            if member.get("phone"):
                world.sandbox.open_window(member["phone"])
    return world
