"""End-to-end: the local stack as users start it, in its own process, on free loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.emulator import free_port

ROOT = Path(__file__).resolve().parents[2]


def clean_environment(**extra: str) -> dict[str, str]:
    """The user's environment: nothing of this test process's stage or endpoints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRACHAR_", "AWS_", "POWERTOOLS_"))}
    env.update(extra)
    return env


@dataclass
class RunningStack:
    process: subprocess.Popen
    emulator: str
    api: str
    sandbox: str
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def s3(self) -> Any:
        return boto3.client("s3", endpoint_url=self.emulator, region_name="ap-south-1",
                            aws_access_key_id="user", aws_secret_access_key="user")

    def token(self, member: str) -> str:
        """The member's ID token, signed in with the local password the way `make run` says to."""
        from infra.identity import ensure_user_pool, sign_in
        from local.stack import LOCAL_PASSWORD

        if member not in self.tokens:
            cognito = boto3.client("cognito-idp", endpoint_url=self.emulator, region_name="ap-south-1",
                                   aws_access_key_id="user", aws_secret_access_key="user")
            pool = ensure_user_pool(cognito, "local")
            self.tokens[member] = sign_in(cognito, pool.client_id, member, LOCAL_PASSWORD)
        return self.tokens[member]

    def get(self, url: str, member: str | None = "state-01") -> Any:
        """GET a URL; the API's as `member` (a coordinator unless told otherwise; None: not signed in)."""
        signed = url.startswith(f"{self.api}/api/") and member is not None
        request = urllib.request.Request(url, headers={"Authorization": self.token(member)} if signed else {})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def approve(self, content_id: str, member: str) -> Any:
        """Sign the content off as `member`, once it is waiting for approval."""
        def waiting() -> bool:
            post = self.get(f"{self.api}/api/posts/{content_id}")
            return any(a["status"] == "pending_approval" for a in post["accounts"])

        self.wait_for(lambda: _exists(self, content_id) and waiting(), timeout=60)
        seen = json.dumps({"revision": self.get(f"{self.api}/api/posts/{content_id}")["revision"]}).encode()
        request = urllib.request.Request(f"{self.api}/api/posts/{content_id}/approve", method="POST", data=seen,
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": self.token(member)})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def wait_for(self, condition, timeout: float = 60.0, every: float = 0.3) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the stack exited with {self.process.returncode}")
            try:
                result = condition()
            except OSError:
                result = None
            if result:
                return result
            time.sleep(every)
        raise AssertionError("timed out waiting for the local stack")


def _exists(stack: RunningStack, content_id: str) -> bool:
    try:
        stack.get(f"{stack.api}/api/posts/{content_id}")
    except urllib.error.HTTPError:
        return False
    return True


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory) -> Iterator[RunningStack]:
    ports = {name: free_port() for name in ("PRACHAR_EMULATOR_PORT", "PRACHAR_API_PORT", "PRACHAR_SANDBOX_PORT")}
    log = tmp_path_factory.mktemp("stack") / "run.log"
    # The example content is the demo's test (test_demo.py); here the stack runs the campaign's config alone.
    env = clean_environment(PRACHAR_CLOCK_SPEED="60", PRACHAR_EXAMPLES="config",
                            **{k: str(v) for k, v in ports.items()})
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "local", "run"], cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
        stack = RunningStack(process, f"http://127.0.0.1:{ports['PRACHAR_EMULATOR_PORT']}",
                             f"http://127.0.0.1:{ports['PRACHAR_API_PORT']}",
                             f"http://127.0.0.1:{ports['PRACHAR_SANDBOX_PORT']}", log)
        try:
            stack.wait_for(lambda: "Activity follows" in log.read_text(errors="replace"), timeout=120)
            yield stack
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            if process.returncode not in (0, -15):
                print(log.read_text(errors="replace")[-5000:])
