"""Tracing, through the real handlers in a fresh Lambda-like process against the emulator and the sandbox: off (the
default), nothing of X-Ray is imported and nothing is sent; on, every AWS request and every platform call reaches the
X-Ray daemon as a subsegment, and each unit of work carries its correlation ids as annotations.

The daemon is a UDP socket on loopback standing in for Lambda's: the X-Ray SDK sends it what it would send in the
cloud (in Lambda, each subsegment as it ends, under the invocation's trace id).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "content/constituency/sahada/traced.yaml"
TRACE_ROOT = "1-5f84c7a1-2a7d3b0c4e5f60718293a4b5"

# One Lambda container: a content upload, then the morning token check (which calls every platform).
HANDLERS = """
import json, sys
from types import SimpleNamespace
import app
context = SimpleNamespace(function_name="prachar-test", function_version="$LATEST", memory_limit_in_mb=512,
                          invoked_function_arn="arn:aws:lambda:ap-south-1:210987654321:function:prachar-test",
                          aws_request_id="req-1", get_remaining_time_in_millis=lambda: 60000)
app.on_content_upload(json.loads(sys.argv[1]), context)
app.token_health_check({"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events",
                        "account": "210987654321", "time": "2021-03-03T00:30:00Z", "region": "ap-south-1",
                        "resources": [], "detail": {}}, context)
print(json.dumps(sorted(name for name in sys.modules if name.startswith("aws_xray_sdk"))))
"""


@pytest.fixture()
def daemon():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(0.5)
        yield listener


def run_in_lambda(active, daemon, *, tracing: bool) -> list[str]:
    active.put(KEY, "title: traced\ntext: सहाड़ा में नया पुल\nplatforms: [facebook]\n")
    env = {**os.environ, "LAMBDA_TASK_ROOT": str(ROOT), "AWS_LAMBDA_FUNCTION_NAME": "prachar-test",
           "_X_AMZN_TRACE_ID": f"Root={TRACE_ROOT};Parent=53995c3f42cd8ad8;Sampled=1",
           "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
           "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    env.pop("AWS_CHALICE_CLI_MODE", None)
    if tracing:
        env["PRACHAR_TRACING"] = "true"
    else:
        env.pop("PRACHAR_TRACING", None)
    done = subprocess.run([sys.executable, "-c", HANDLERS, json.dumps(active.s3_event(KEY))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def received(daemon) -> list[dict]:
    documents = []
    while True:
        try:
            datagram = daemon.recv(65536)
        except TimeoutError:
            return documents
        header, _, body = datagram.decode("utf-8").partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        documents.append(json.loads(body))


def flattened(documents: list[dict]) -> list[dict]:
    found = []

    def walk(entity):
        found.append(entity)
        for child in entity.get("subsegments", []):
            walk(child)

    for document in documents:
        walk(document)
    return found


def test_tracing_is_off_by_default_nothing_of_x_ray_is_imported_and_nothing_sent(active, daemon):
    assert run_in_lambda(active, daemon, tracing=False) == []
    assert received(daemon) == []


def test_with_tracing_on_every_aws_request_and_platform_call_is_a_subsegment_of_the_invocation(active, daemon):
    assert "aws_xray_sdk.core" in run_in_lambda(active, daemon, tracing=True)
    entities = flattened(received(daemon))
    assert entities and {e["trace_id"] for e in entities if "trace_id" in e} == {TRACE_ROOT}
    aws_calls = {(e["name"], e["aws"]["operation"]) for e in entities if e.get("namespace") == "aws"}
    assert {("s3", "GetObject"), ("dynamodb", "GetItem")} <= aws_calls, aws_calls
    assert {("ssm", "GetParameter"), ("secretsmanager", "GetSecretValue")} & aws_calls, "the token check's reads"
    platform_calls = [e["http"]["request"]["url"] for e in entities if e.get("namespace") == "remote"]
    assert platform_calls and all(url.startswith(active.sandbox.url) for url in platform_calls), platform_calls
    assert not any("?" in url for url in platform_calls), "a query string (it may carry a token) is never traced"
    units = [e for e in entities if e["name"] == "## unit of work"]
    assert any(u.get("annotations", {}).get("upload_key") == KEY for u in units), units
    # The upload's own AWS requests are inside its unit of work.
    upload = next(u for u in units if u.get("annotations", {}).get("upload_key") == KEY)
    inside = {(e["name"], e["aws"]["operation"]) for e in entities
              if e.get("namespace") == "aws" and e.get("parent_id") == upload["id"]}
    assert ("s3", "GetObject") in inside, inside
