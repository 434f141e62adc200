"""What a Lambda imports on its first invocation, through the real handlers in a fresh process against the emulator
and the sandbox: a Facebook post is validated and published without X's text rules, X's signer or Powertools' batch
processor (bench/cold_start.py times these import graphs; here only which modules load is checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chalicelib.domain.post import PostStatus, content_id_for
from chalicelib.domain.times import to_iso

ROOT = Path(__file__).resolve().parents[2]
KEY = "content/constituency/sahada/facebook-only.yaml"

# One cold Lambda: the handler on the event, then the modules the process holds.
COLD = """
import json, sys
from types import SimpleNamespace
import app
context = SimpleNamespace(function_name="prachar-test", aws_request_id="req-1", memory_limit_in_mb=256,
                          invoked_function_arn="arn:aws:lambda:ap-south-1:000000000000:function:prachar-test",
                          get_remaining_time_in_millis=lambda: 60000)
answer = getattr(app, sys.argv[1])(json.loads(sys.argv[2]), context)
print(json.dumps({"answer": answer, "modules": sorted(sys.modules)}))
"""
X_ONLY = ("twitter_text", "oauthlib", "chalicelib.adapters.platforms.x", "chalicelib.adapters.platforms.x_auth")
BATCH_PROCESSOR = "aws_lambda_powertools.utilities.batch"


def cold(world, function: str, event: dict) -> tuple[object, set[str]]:
    env = {**os.environ, "PRACHAR_CLOCK_START": to_iso(world.clock.now()), "PRACHAR_CLOCK_SPEED": "0",
           "POWERTOOLS_LOG_LEVEL": "ERROR"}
    done = subprocess.run([sys.executable, "-c", COLD, function, json.dumps(event)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return found["answer"], set(found["modules"])


def test_a_facebook_post_is_validated_and_published_without_x_or_the_batch_processor(active):
    active.put(KEY, "title: बजट\ntext: सहाड़ा में नया महाविद्यालय\nplatforms: [facebook]\n"
                    "publish_at: 2021-03-05T09:00:00+05:30\n")
    _, uploaded = cold(active, "on_content_upload", active.s3_event(KEY))
    assert not [m for m in uploaded if m.startswith(X_ONLY)]

    active.at("2021-03-05T09:00:00+05:30")
    assert active.container.dispatcher().run().queued
    messages = active.receive()
    assert [json.loads(m["Body"])["account_id"] for m in messages] == ["fb-sahada"]
    answer, published = cold(active, "on_publish_message", active.sqs_event(messages))
    assert answer == {"batchItemFailures": []}
    _, posts = active.container.store.content_with_posts(content_id_for(KEY))
    assert [p.status for p in posts] == [PostStatus.PUBLISHED]
    assert not [m for m in published if m.startswith(X_ONLY) or m.startswith(BATCH_PROCESSOR)]
    assert "pydantic" not in published
