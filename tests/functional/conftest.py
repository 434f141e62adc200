"""Functional tests call the real handlers through chalice.test.Client, behind API Gateway's token check."""

import logging

import pytest
from chalice.test import Client

import app
from tests.support.signed_in import SignedClient


@pytest.fixture()
def client():
    with Client(app.app, stage_name="functional") as test_client:
        yield SignedClient(test_client, app.app)


class Collected(logging.Handler):
    """The app's log lines as Powertools formats them for CloudWatch, kept for the test."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture()
def emf(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    from chalicelib.observability import logger

    collected = Collected(logger.registered_formatter)
    logger.addHandler(collected)
    logger.setLevel("INFO")
    yield collected
    logger.setLevel("WARNING")
    logger.removeHandler(collected)
