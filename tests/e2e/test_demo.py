"""`make demo` as a user runs it: the example campaign replayed on the local stack, start to poll close.

In a file of its own: the long test of the suite, it runs beside the others instead of beside a running stack.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, clean_environment

pytestmark = pytest.mark.e2e


def test_demo_replays_the_campaign_publishes_every_post_and_keeps_the_election_calendar():
    result = subprocess.run([sys.executable, "-m", "local", "demo"], cwd=ROOT, env=clean_environment(),
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("team "))
    totals = dict(zip(header.split()[2:], next(line for line in lines if line.startswith("all teams")).split()[2:],
                      strict=True))
    assert set(totals) == {"cancelled_campaign_over", "expired", "published", "rejected", "total"}, \
        "nothing failed or left waiting"
    assert (totals["expired"], totals["rejected"]) == ("3", "3"), "one content left unapproved, one rejected"
    assert int(totals["published"]) > 250
    calendar = {line.split()[0]: line.split()[-3:] for line in lines if line.startswith("  sahada")
                or line.startswith("  vallabhnagar")}
    assert calendar["sahada"][1:] == ["3", "6"], "held by the silence; cancelled after the poll"
    assert "vikas-gatha (constituency/sahada): 43 items, one a day from 2021-03-04 to 2021-04-15; 43 published" \
        in result.stdout, "a daily series runs until the silence before the poll"
    assert "Sign-off, played by the example leads" in result.stdout
    assert "(constituency/sahada): 39 contacts, 39 sent" in result.stdout, "the broadcast reached every subscriber"
    assert calendar["vallabhnagar"][1:] == ["0", "0"], "its poll is in October"
    for team in ("state-it-cell", "bhilwara-district-it-cell", "sahada-it-cell", "vallabhnagar-it-cell"):
        assert team in result.stdout
    went_out = {line.rsplit(None, 1)[0].strip(): int(line.rsplit(None, 1)[1])
                for line in result.stdout.split("What the platforms accepted")[1].splitlines()[1:]
                if line.startswith("  ") and line.split()[-1].isdigit()}
    for kind in ("x: reply in a thread", "x: post with media", "facebook: photo", "facebook: video",
                 "whatsapp: image message", "whatsapp: template message"):
        assert went_out.get(kind, 0) > 0, kind
    assert not any("refused" in kind for kind in went_out)
