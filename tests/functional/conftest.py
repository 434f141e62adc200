"""Functional tests call the real handlers through chalice.test.Client."""

import pytest
from chalice.test import Client

import app


@pytest.fixture()
def client():
    with Client(app.app, stage_name="functional") as test_client:
        yield test_client
