"""Shared fixtures. Tests that touch AWS talk HTTP to a moto server this session starts on a free port."""

from __future__ import annotations

import os

# Before anything imports app.py: the names its decorators read, and a region, for the `test` stage.
os.environ.update({
    "PRACHAR_STAGE": "test", "PRACHAR_CONTENT_BUCKET": "prachar-test-content",
    "PRACHAR_PUBLISH_QUEUE": "prachar-test-publish", "PRACHAR_TABLE": "prachar-test",
    "AWS_DEFAULT_REGION": "ap-south-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
    "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_SERVICE_NAME": "prachar",
    "POWERTOOLS_METRICS_DISABLED": "true",  # EMF lines on stdout; tests/functional/test_observability.py turns them on
})
os.environ.pop("AWS_ENDPOINT_URL", None)  # never let a developer's shell point tests at a real account
os.environ.pop("AWS_PROFILE", None)

pytest_plugins = ["tests.support.fixtures"]
