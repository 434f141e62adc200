"""Functional tests call the real handlers through chalice.test.Client, behind API Gateway's token check."""

import pytest
from chalice.test import Client

import app
from tests.support.signed_in import SignedClient


@pytest.fixture()
def client():
    with Client(app.app, stage_name="functional") as test_client:
        yield SignedClient(test_client, app.app)
