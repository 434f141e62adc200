"""A campaign's days on the local stack with every AWS call of every Lambda recorded (local/aws_calls.py).

It walks every function through what it does in the cloud: the config, manifests with media, a calendar, a bad upload
and its fix, an audience file that runs out of Lambda time and continues, approvals and a rejection, a pause and a
resume, the dashboard and every read route, an export and its link, an erasure, a STOP and WhatsApp's own marketing
stop, a broadcast and its statuses, every schedule (token check, coverage alert, daily report, engagement, counts,
poll closing) and, months later, the purge of the contacts past their retention.

It runs in a process of its own (`python -m tests.support.recorded_run OUT.json`): the stack sets the environment
of the process it runs in. tests/e2e/test_iam.py checks the calls against each function's policy.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SAHADA = "content/constituency/sahada/2021-03"
CONTENT = [f"{SAHADA}/2021-03-12-works.yaml", f"{SAHADA}/2021-03-12-broadcast.yaml",
           f"{SAHADA}/2021-03-13-budget.png", f"{SAHADA}/2021-03-13-budget.yaml",
           "content/constituency/rajsamand/2021-03/2021-03-13-budget.png",
           "content/constituency/rajsamand/2021-03/2021-03-13-budget.yaml",
           "content/constituency/sahada/2021-04/2021-04-20-thanks.yaml"]  # after the poll: the closer cancels it
REJECTED = "content/constituency/rajsamand/2021-03/2021-03-13-budget.yaml"
CALENDAR = ("publish_at,platforms,title,text,link,media,series\r\n"
            "2021-03-12T18:00,facebook;x,बजट — दिन 1,सहाड़ा में नया महाविद्यालय,https://example.org/1,poster.png,"
            "budget-2021\r\n")
SAHADA_NUMBER = "110000000000006"
COORDINATOR, SAHADA_LEAD = "state-01", "sahada-01"


def record(out: Path) -> int:
    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from chalicelib.adapters.clock import SteppedClock
    from chalicelib.domain.post import content_id_for
    from chalicelib.domain.times import local_date
    from chalicelib.services import audience_import
    from local.aws_calls import CallLog, ImportLog
    from local.emulator import free_port
    from local.sandbox.faults import Fault
    from local.stack import LocalStack, StackOptions

    # Before any client is made: each client copies the session's event hooks when it is created.
    log = CallLog().install(aws.session())
    imports = ImportLog().install()
    clock = SteppedClock(datetime.fromisoformat("2021-03-11T20:00:00+05:30"))
    stack = LocalStack(StackOptions(clock=clock, emulator_port=free_port(), api_port=free_port(),
                                    report=lambda line: print(line, file=sys.stderr))).start()
    stack.pump.separate_functions = True
    try:
        # The webhook's secrets from SSM, as in the cloud (the local stack passes them in the environment).
        ssm = aws.client("ssm")
        for name, variable in zip(stack.container.settings.whatsapp_secret_names,
                                  ("PRACHAR_WHATSAPP_APP_SECRET", "PRACHAR_WHATSAPP_VERIFY_TOKEN"), strict=True):
            ssm.put_parameter(Name=name, Value=os.environ.pop(variable), Type="SecureString", Overwrite=True)
        stack.container = bootstrap.use(clock)
        api = Api(stack)
        stack.upload("config/campaign.yaml", (EXAMPLES / "config" / "campaign.yaml").read_bytes())
        stack.settle()

        # An audience file that outlives its Lambda's time: it continues through the imports queue.
        audience_import.BATCH, stack.pump.millis_left = 10, 30_000
        stack.upload("audience/sahada/2021-03-subscribers.csv",
                     (EXAMPLES / "audience" / "sahada" / "2021-03-subscribers.csv").read_bytes())
        stack.settle()
        stack.pump.millis_left = None
        stack.upload("audience/sahada/late-signups.csv",  # done in one go: its own error and import reports
                     "phone,name,consent_source,consent_at,notice_version,language\r\n"
                     "+919876501001,राम,missed call,2021-03-10T10:00:00+05:30,v1,hi\r\n"
                     "12345,श्याम,missed call,2021-03-10T10:00:00+05:30,v1,hi\r\n".encode())
        stack.upload("config/broken.yaml", b"campaign: [")
        stack.settle()
        stack.upload("audience/sahada/late-signups.csv",  # corrected: its error report goes
                     "phone,name,consent_source,consent_at,notice_version,language\r\n"
                     "+919876501001,राम,missed call,2021-03-10T10:00:00+05:30,v1,hi\r\n".encode())
        stack.upload("calendar/constituency/sahada/broken.csv", b"title,text\r\nx,y\r\n")
        stack.settle()

        for key in CONTENT:
            stack.upload(key, (EXAMPLES / key).read_bytes())
        poster = (EXAMPLES / f"{SAHADA}/2021-03-13-budget.png").read_bytes()
        stack.upload("calendar/constituency/sahada/poster.png", poster)
        stack.upload("calendar/constituency/sahada/2021-03.csv", CALENDAR.encode())
        stack.upload("content/constituency/sahada/2021-03/broken.yaml", b"title: [unclosed\n")  # its errors/ report
        stack.settle()
        stack.upload("content/constituency/sahada/2021-03/broken.yaml",  # fixed: the report goes
                     "title: ठीक किया\ntext: सहाड़ा\nplatforms: [facebook]\npublish_at: 2021-03-12T19:00:00+05:30\n"
                     .encode())
        stack.settle()

        for post in api.call("GET", "/api/posts?status=pending_approval&limit=1000", COORDINATOR)["posts"]:
            if post["id"] == content_id_for(REJECTED):
                api.call("POST", f"/api/posts/{post['id']}/reject", COORDINATOR, {"reason": "आँकड़े जाँचें"})
            else:
                api.call("POST", f"/api/posts/{post['id']}/approve", COORDINATOR,
                         {"note": "recorded run", "revision": post["revision"]})
        first = content_id_for(f"{SAHADA}/2021-03-12-works.yaml")
        for path in ("/health", "/dashboard", "/dashboard/app.js", "/api/overview", "/api/pauses", "/api/accounts",
                     "/api/activity", f"/api/posts/{first}"):
            api.call("GET", path, COORDINATOR)
        api.call("POST", "/api/pause", COORDINATOR, {"scope": "district/churu", "reason": "recorded run"})
        api.call("POST", "/api/resume", COORDINATOR, {"scope": "district/churu"})
        exported = api.call("POST", "/api/audience/export", SAHADA_LEAD, {"constituency": "sahada"})
        with urllib.request.urlopen(exported["url"], timeout=30) as answer:  # the link works, signed as the API
            assert answer.read().startswith(b"phone,")
        stack.sandbox.open_window("+917665000039", to_number=SAHADA_NUMBER, text="STOP")
        stack.sandbox.marketing_preference("+917665000038", "stop", to_number=SAHADA_NUMBER)
        stack.settle()
        # Corrections after the sign-off: the re-uploads read the posts they replace; the manifest's new revision
        # is left unapproved, and expires at its time.
        works = (EXAMPLES / f"{SAHADA}/2021-03-12-works.yaml").read_text(encoding="utf-8")
        stack.upload(f"{SAHADA}/2021-03-12-works.yaml", works.replace("पूरा।", "पूरा हुआ।").encode())
        stack.upload("calendar/constituency/sahada/2021-03.csv", CALENDAR.replace("नया", "नया राजकीय").encode())
        stack.settle()
        for post in api.call("GET", "/api/posts?status=pending_approval&limit=1000", COORDINATOR)["posts"]:
            if post["id"] != first:
                api.call("POST", f"/api/posts/{post['id']}/approve", COORDINATOR,
                         {"note": "recorded run: the correction", "revision": post["revision"]})

        # A platform's 5xx: the message comes back later (its visibility changed), and goes out once.
        stack.sandbox.inject(Fault("x", "server_error", account_id="x-sahada", times=1))
        # One subscriber's message refused for now: the broadcast's chunk comes back for that contact alone.
        stack.sandbox.inject(Fault("whatsapp", "transient", account_id="wa-sahada", contains="budget_update", times=1))
        # A team member WhatsApp cannot reach: the kit goes to the others, and that member's slot is given back.
        stack.sandbox.inject(Fault("whatsapp", "undeliverable", account_id="wa-sahada", contains="919003000002",
                                   times=1))
        # Through the broadcast of 12 March and the next morning's posts, every schedule at its time.
        run_until(stack, clock, datetime.fromisoformat("2021-03-13T10:00:00+05:30"))
        # A voter in the audience asks to be erased: their contact and broadcast record go.
        api.call("POST", "/api/audience/erase", COORDINATOR, {"phone": "+91 76650 00037"})
        # The page's token revoked: the afternoon's engagement read fails, and says so.
        stack.sandbox.revoke("fb-sahada")
        run_until(stack, clock, datetime.fromisoformat("2021-03-13T22:00:00+05:30"))
        # Sahada's poll closes: the closer cancels what was to go after it.
        clock.advance_to(datetime.fromisoformat("2021-04-17T18:10:00+05:30"))
        stack.settle()
        # After the count (2 May) and its 30 days of retention: the contacts are purged.
        clock.advance_to(datetime.fromisoformat("2021-06-02T04:00:00+05:30"))
        stack.settle()
        kinds = {entry.kind for entry in stack.container.store.activity_on(local_date(clock.now()))}
        assert "audience.purged" in kinds, (kinds, stack.pump.invocations)
    finally:
        log.uninstall(aws.session())
        imports.uninstall()
        stack.stop()
    out.write_text(json.dumps([call.as_json() for call in log.calls]))
    out.with_suffix(".imports.json").write_text(json.dumps({f: sorted(m) for f, m in imports.modules.items()}))
    return len(log.calls)


def run_until(stack: Any, clock: Any, end: datetime) -> None:
    """As `make demo` does: from one due post to the next; the schedules passed on the way fire once each."""
    while clock.now() < end:
        stack.settle()
        due = stack.container.store.next_wake_at()
        target = end if due is None or due > end else stack.pump.next_schedule_after(
            max(clock.now(), due - timedelta(seconds=1)))
        clock.advance_to(min(target, end) if target else end)
    stack.settle()


class Api:
    def __init__(self, stack: Any) -> None:
        self.stack = stack

    def call(self, method: str, path: str, member: str, body: Any = None) -> Any:
        request = urllib.request.Request(f"{self.stack.api_url}{path}", method=method,
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": self.stack.token(member)},
                                         data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(request, timeout=60) as answer:
            text = answer.read()
        try:
            return json.loads(text)
        except ValueError:
            return text


if __name__ == "__main__":
    print(record(Path(sys.argv[1])), "calls recorded")
