"""Shared fixtures. Tests that touch AWS talk HTTP to a moto server this session starts on a free port."""

from __future__ import annotations

import os
from collections import Counter

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


# `make test` hands whole files to two workers (`--dist loadfile`) in collection order (`--no-loadscope-reorder`:
# xdist would otherwise order the files by their number of tests, and start the one-test demo last). The long files
# go first, so the other worker's tail of short files runs beside them rather than after them.
LONG_FILES_FIRST = (
    "tests/e2e/test_demo.py",               # `make demo`'s whole replay, in a process of its own
    "tests/e2e/test_deploy_rehearsal.py",
    "tests/e2e/test_iam.py",                # the recorded run
    "tests/functional/test_chaos.py",
    "tests/e2e/test_local_stack.py",
    "tests/e2e/test_dashboard_browser.py",
    "tests/functional/test_broadcasts.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    def file_of(item) -> str:
        return item.nodeid.split("::")[0]

    rank = {path: i for i, path in enumerate(LONG_FILES_FIRST)}
    per_file = Counter(file_of(item) for item in items)
    # Then, as xdist would, the files with most tests first; a file's tests keep their order (the sort is stable).
    items.sort(key=lambda item: (rank.get(file_of(item), len(rank)), -per_file[file_of(item)], file_of(item)))
