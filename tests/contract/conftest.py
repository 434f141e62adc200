"""Adapter contract tests: each adapter against the sandbox alone (no AWS)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.clock import SystemClock
from local.sandbox import PlatformSandbox

PAGE, USER, NUMBER = "100000000000002", "2000002", "3000002"


@pytest.fixture()
def platform_sandbox(sandbox: PlatformSandbox) -> PlatformSandbox:
    sandbox.clock = SystemClock()
    sandbox.reset()
    sandbox.register("tok-fb", "fb-sahada", "facebook", PAGE)
    sandbox.register("tok-x", "x-sahada", "x", USER)
    sandbox.register("tok-wa", "wa-sahada", "whatsapp", NUMBER)
    sandbox.open_window("919000000101")
    return sandbox
