"""`python -m local run` (make run) and `python -m local demo` (make demo)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEFAULT_START = "2021-03-03T09:00:00+05:30"
# How `make demo` moves its clock: from one moment with work to the next; at each stop the pump fires, once, every
# schedule that came due meanwhile (it coalesces missed firings). A moment has work when
# - a post wakes (the publishing clock's Query of the wake index finds it): the clock's minute at or after it;
# - the evening coverage alert or the daily report runs: what they say depends on when (tomorrow's gaps, the last 24
#   hours), and each messages the coordinators then;
# - a poll closes: the closer's first run after it.
# The other schedules find nothing they would not find at the next stop: the every-minute clock has nothing due, the
# closer no closed poll; the token check and the retention purge act on the day, before its first post; the broadcast
# counts and the 6-hourly engagement read refresh figures that are read again, whole, later (the demo recounts every
# broadcast at the end, and a post is read for 7 days). So they run at the stops instead of on their own times.
AT_THEIR_TIME = ("coverage_alert", "daily_report")


def clock_start() -> datetime:
    start = datetime.fromisoformat(os.environ.get("PRACHAR_CLOCK_START") or DEFAULT_START)
    if start.tzinfo is None:
        raise SystemExit("PRACHAR_CLOCK_START needs a UTC offset, e.g. 2021-03-03T09:00:00+05:30")
    return start


def sign_in_help(stack) -> str:
    """How to sign in as an example coordinator, lead and member (every /api route needs the ID token)."""
    from local.stack import LOCAL_PASSWORD

    campaign = stack.container.campaigns.active()
    people = []
    for role in ("coordinator", "lead", "member"):
        member = next((m for t in campaign.teams for m in t.members if m.role == role), None) if campaign else None
        if member is not None:
            team = campaign.team_of(member.id)
            people.append(f"{role} {member.id} ({team.scope if team else ''})")
    pool = stack.user_pool
    return (f"Sign in (Cognito pool {pool.id} on the emulator; every member's password is {LOCAL_PASSWORD}):\n"
            f"  as {'; '.join(people) or 'any member of config/campaign.yaml'}\n"
            f"  TOKEN=$(aws --endpoint-url {stack.emulator.url} cognito-idp initiate-auth --client-id {pool.client_id} "
            f"--auth-flow USER_PASSWORD_AUTH --auth-parameters USERNAME=state-01,PASSWORD={LOCAL_PASSWORD} "
            "--query AuthenticationResult.IdToken --output text)\n"
            f"  curl -H \"Authorization: $TOKEN\" {stack.api_url}/api/posts")


def command_line_help(stack) -> str:
    """How to point the volunteers' `prachar` command at this stack, as a member of a constituency team."""
    from local.stack import LOCAL_PASSWORD

    campaign = stack.container.campaigns.active()
    member = next((m.id for t in (campaign.teams if campaign else []) if t.scope.startswith("constituency/")
                   for m in t.members if m.role == "member"), "sahada-02")
    return (f"Check and upload with the prachar command (in .venv; `pip install .` elsewhere):\n"
            f"  export AWS_ENDPOINT_URL={stack.emulator.url} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
            "AWS_DEFAULT_REGION=ap-south-1\n"
            f"  .venv/bin/prachar login --api {stack.api_url} --member {member}   (password {LOCAL_PASSWORD})\n"
            "  .venv/bin/prachar template manifest && .venv/bin/prachar check manifest.yaml && "
            ".venv/bin/prachar upload manifest.yaml")


def run() -> int:
    from chalicelib.adapters.clock import ScaledClock
    from local.console import activity_line, upload_failure_line
    from local.stack import BUCKET, ActivityFeed, LocalStack, StackOptions

    speed = float(os.environ.get("PRACHAR_CLOCK_SPEED") or 1)
    clock = ScaledClock(clock_start(), speed, time.time())
    stack = LocalStack(StackOptions(clock=clock, emulator_port=int(os.environ.get("PRACHAR_EMULATOR_PORT", 4566)),
                                    api_port=int(os.environ.get("PRACHAR_API_PORT", 8000)),
                                    sandbox_port=int(os.environ.get("PRACHAR_SANDBOX_PORT", 8001)))).start()
    try:
        # PRACHAR_EXAMPLES=config: the example campaign's teams and accounts, none of its content.
        only_config = os.environ.get("PRACHAR_EXAMPLES") == "config"
        manifests = stack.load_examples(EXAMPLES, content=not only_config)
        loaded = ": its config only" if only_config else f": {manifests} manifests"
        print(f"""
Prachar is running on the local stack (clock {clock.now():%Y-%m-%d %H:%M} UTC, {speed:g}× real time).
  AWS emulator   {stack.emulator.url}   bucket {BUCKET}
  dashboard      {stack.api_url}/dashboard   (sign in as below)
  API            {stack.api_url}/health   {stack.api_url}/api/activity   {stack.api_url}/api/posts/<id>
  sandbox        {stack.sandbox.url}/_sandbox/requests  (what the platforms received)
Loaded the example campaign{loaded}. Upload more with any S3 client, e.g.
  aws --endpoint-url {stack.emulator.url} s3 cp post.yaml s3://{BUCKET}/content/constituency/sahada/post.yaml
{command_line_help(stack)}
{sign_in_help(stack)}
Activity follows. Ctrl-C stops.
""", flush=True)
        feed = ActivityFeed(stack.container.store, clock)
        failures = stack.upload_failures()
        last_look = 0.0
        while True:
            handled = stack.step()
            if time.monotonic() - last_look > 0.5:
                for entry in feed.new_entries():
                    print(activity_line(entry), flush=True)
                for record in failures.new_records():
                    print(upload_failure_line(record, failures.queue), flush=True)
                last_look = time.monotonic()
            if not handled:
                time.sleep(0.2)
    except KeyboardInterrupt:
        print("\nstopping.")
        return 0
    finally:
        stack.stop()


def day_line(day, per_day: Counter) -> str:
    gaps = per_day[(day, "coverage.gap")]
    return (f"  {day}: {per_day[(day, 'post.published')]:>3} published, {per_day[(day, 'post.failed')]} failed"
            + (f"; {gaps} team(s) with nothing scheduled tomorrow (coordinators alerted)" if gaps else ""))


def next_stop(pump, now: datetime, due: datetime, poll_closes: list[datetime]) -> datetime:
    """Where the demo's clock goes next (see AT_THEIR_TIME): the first of the clock's minute at or after the next due
    post, the next daily schedule, and the closer's first run after a poll closes."""
    stops = [pump.next_schedule_after(max(now, due - timedelta(seconds=1)))]
    others = {schedule.name for schedule in pump.schedules}
    stops.append(pump.next_schedule_after(now, skip=others - set(AT_THEIR_TIME)))
    closer_runs = (pump.next_schedule_after(moment - timedelta(seconds=1), skip=others - {"campaign_closer"})
                   for moment in poll_closes)
    stops.append(next((run for run in closer_runs if run is not None and run > now), None))
    return min(stop for stop in stops if stop is not None)


def demo(verbose: bool) -> int:
    from chalicelib.adapters.clock import SteppedClock
    from local.console import (
        SETTLED,
        activity_line,
        election_table,
        series_lines,
        summary_counts,
        summary_table,
        upload_failure_line,
        what_went_out,
    )
    from local.emulator import free_port
    from local.stack import ActivityFeed, LocalStack, StackOptions

    started = time.monotonic()
    clock = SteppedClock(clock_start())
    stack = LocalStack(StackOptions(clock=clock, emulator_port=free_port(), api_port=free_port())).start()
    try:
        manifests = stack.load_examples(EXAMPLES)
        campaign = stack.container.campaigns.active()
        if campaign is None:
            print("the example campaign config was rejected; see errors/config/campaign.yaml.json", file=sys.stderr)
            return 1
        poll_closes = sorted({c.poll_closes for c in campaign.constituencies})
        end = poll_closes[-1] + timedelta(days=1)
        print(f"Replaying {campaign.campaign}: {manifests} manifests, from {clock.now():%Y-%m-%d %H:%M} UTC "
              f"until nothing is left to publish (at the latest {end:%Y-%m-%d}).")
        decisions = stack.decisions
        print(f"Sign-off, played by the example leads and coordinators through the API: {decisions.get('approved', 0)}"
              f" approved, {decisions.get('rejected', 0)} rejected, {decisions.get('left', 0)} left to expire.")
        failures = stack.upload_failures()
        # The replay uploads only in load_examples, which settled: one look at the queue is enough.
        for record in failures.new_records():
            print(upload_failure_line(record, failures.queue))
        feed = ActivityFeed(stack.container.store, clock)
        per_day: Counter = Counter()
        day = None
        while True:
            stack.settle()
            for entry in feed.new_entries():
                if verbose or (entry.level != "info" and entry.kind != "coverage.gap"):  # gaps: one count a day
                    print(activity_line(entry))
                per_day[(entry.at.date(), entry.kind)] += 1
            if day and day != clock.now().date():
                print(day_line(day, per_day))
            day = clock.now().date()
            due = stack.container.store.next_wake_at()
            if due is None or due > end:
                break
            clock.advance_to(next_stop(stack.pump, clock.now(), due, poll_closes))
        print(day_line(day, per_day))
        counts = summary_counts(stack.container.store, campaign)
        print()
        print(summary_table(counts))
        print("\nThe election calendar, per constituency (posts of its own accounts):")
        print(election_table(stack.container.store, campaign))
        print("\nDaily series:")
        print(series_lines(stack.container.store, campaign))
        print("\nBroadcasts to subscribers (WhatsApp templates to the voters who opted in):")
        for broadcast in stack.container.broadcaster.rollups(clock_start() - timedelta(days=1)):
            r = broadcast["rollup"]
            print(f"  {broadcast['title']} ({broadcast['scope']}): {r['contacts']} contacts, {r['sent']} sent, "
                  f"{r['delivered']} delivered, {r['failed_total']} failed, {r['skipped']} stopped since")
        received = stack.sandbox.received()
        print(f"\nWhat the platforms accepted ({len(received)} calls to the sandbox):")
        print(what_went_out(received))
        print(f"\nDemo took {time.monotonic() - started:.1f} s.")
        unsettled = sum(n for (_, _, status), n in counts.items() if status not in SETTLED)
        if unsettled:
            print(f"{unsettled} post(s) neither published nor settled by the election calendar: see the table.",
                  file=sys.stderr)
            return 1
        return 0
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description="The Prachar local stack")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the stack until Ctrl-C (make run)")
    demo_parser = commands.add_parser("demo", help="replay the example campaign and print a summary (make demo)")
    demo_parser.add_argument("-v", "--verbose", action="store_true", help="print every activity entry")
    arguments = parser.parse_args()
    return run() if arguments.command == "run" else demo(arguments.verbose)


if __name__ == "__main__":
    sys.exit(main())
