"""The dashboard in real headless Chromium (Debian's `chromium`, driven by Playwright) against `make run`'s stack.

Each test saves a screenshot under .test-output/browser/; the first-render figures go to
.test-output/browser/figures.json (page weight and time to first render, measured by the browser).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from chalicelib.domain.post import content_id_for
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = ROOT / ".test-output" / "browser"
PASSWORD = "prachar-local-1"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: .ci/run installs Debian's `chromium` before the tests")
        pytest.skip("no chromium here: `apt-get install --no-install-recommends chromium` (CI installs it)")
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, request):
    context = browser.new_context(viewport={"width": 412, "height": 915}, locale="en-IN")  # a phone
    tab = context.new_page()
    problems = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    yield tab
    tab.screenshot(path=str(OUTPUT / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert problems == [], f"errors in the page: {problems}"


def sign_in(page, stack, member):
    page.goto(f"{stack.api}/dashboard")
    page.fill("input[name=member]", member)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#board:not([hidden])", timeout=20000)
    page.wait_for_selector("#days tbody tr")


def overview(stack, member):
    request = urllib.request.Request(f"{stack.api}/api/overview", headers={"Authorization": stack.token(member)})
    with urllib.request.urlopen(request, timeout=20) as answer:
        return json.loads(answer.read())


def test_a_coordinator_signs_in_and_the_counts_match_the_api(running_stack, page):
    started = time.monotonic()
    sign_in(page, running_stack, "state-01")
    signed_in_after = time.monotonic() - started
    data = overview(running_stack, "state-01")
    for day in data["totals"]:
        row = page.locator(f"#days tr[data-date='{day['date']}']")
        for column in ("scheduled", "published", "failed", "held", "waiting_approval"):
            assert row.locator(f"td[data-column={column}]").inner_text() == str(day[column]), (day["date"], column)
    assert page.locator("#kill-switch [data-state]").count() >= 1
    assert page.locator("#silences [data-constituency]").count() == len(data["silences"]) == 4
    figures = page.evaluate("""() => {
        const resources = performance.getEntriesByType('resource');
        const navigation = performance.getEntriesByType('navigation')[0];
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        const bytes = (entry) => entry.encodedBodySize || entry.transferSize || 0;
        return {page_bytes: bytes(navigation) + resources.filter(r => r.name.includes('/dashboard')).map(bytes)
                    .reduce((a, b) => a + b, 0),
                all_bytes: bytes(navigation) + resources.map(bytes).reduce((a, b) => a + b, 0),
                requests: resources.length + 1, first_contentful_paint_ms: paint ? Math.round(paint.startTime) : null,
                dom_content_loaded_ms: Math.round(navigation.domContentLoadedEventEnd)};
    }""")
    figures["sign_in_to_board_s"] = round(signed_in_after, 2)
    (OUTPUT / "figures.json").write_text(json.dumps(figures, indent=2))
    print(f"dashboard figures: {figures}")
    assert figures["first_contentful_paint_ms"] is not None and figures["page_bytes"] > 50_000


def test_the_page_speaks_hindi_and_english(running_stack, page):
    sign_in(page, running_stack, "state-01")
    english = page.locator("#coverage h2").inner_text()
    page.click("#language")
    assert page.locator("#coverage h2").inner_text() == "मतदान तक कवरेज" != english
    assert page.locator("html").get_attribute("lang") == "hi"
    page.click("#language")
    assert page.locator("#coverage h2").inner_text() == english


def test_a_lead_sees_only_their_district(running_stack, page):
    sign_in(page, running_stack, "bhilwara-d-01")
    options = page.locator("#scope option").all_inner_texts()
    assert "district/bhilwara" in options and not any("udaipur" in o or "churu" in o for o in options)
    teams = page.locator("#coverage tr[data-team]").evaluate_all("rows => rows.map(r => r.dataset.team)")
    assert teams and all("udaipur" not in t and "vallabhnagar" not in t and "churu" not in t for t in teams), teams
    assert [c for c in page.locator("#silences [data-constituency]").evaluate_all(
        "rows => rows.map(r => r.dataset.constituency)")] == ["sahada"]


def test_a_coverage_gap_shows_and_a_chart_renders(running_stack, page):
    sign_in(page, running_stack, "state-01")
    assert page.locator("#coverage td.gap").count() > 0
    page.wait_for_selector("#chart-scope .uplot canvas")
    assert page.locator("#chart-platform .uplot canvas").count() == 1
    drawn = page.evaluate("""() => { const c = document.querySelector('#chart-scope canvas');
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0; for (let i = 3; i < data.length; i += 4) if (data[i]) ink++; return ink; }""")
    assert drawn > 100, "the chart drew something"


def test_a_district_lead_approves_from_the_queue_and_the_post_goes_out(running_stack, page):
    key = "content/constituency/sahada/browser/approve-me.yaml"
    running_stack.s3().put_object(Bucket="prachar-local-content", Key=key, Body=(
        "title: ब्राउज़र से स्वीकृति\ntext: सहाड़ा में नई सड़क का लोकार्पण — browser-approval-7f3\n"
        "platforms: [facebook]\n").encode())
    content_id = content_id_for(key)
    running_stack.wait_for(lambda: _waiting(running_stack, content_id), timeout=60)
    sign_in(page, running_stack, "bhilwara-d-01")
    item = page.locator(f"#approvals .queue-item[data-id='{content_id}']")
    item.wait_for(timeout=20000)
    item.locator("button.approve").click()
    page.wait_for_selector(f"#approvals .queue-item[data-id='{content_id}']", state="detached", timeout=20000)

    def went_out():
        calls = running_stack.get(f"{running_stack.sandbox}/_sandbox/requests")["requests"]
        return [c for c in calls if "browser-approval-7f3" in json.dumps(c, ensure_ascii=False)]

    assert len(running_stack.wait_for(went_out, timeout=90)) == 1
    post = running_stack.get(f"{running_stack.api}/api/posts/{content_id}")
    assert post["accounts"][0]["status"] == "published"


def _waiting(stack, content_id) -> bool:
    try:
        post = stack.get(f"{stack.api}/api/posts/{content_id}")
    except OSError:
        return False
    return any(a["status"] == "pending_approval" for a in post["accounts"])


def test_the_queue_shows_each_accounts_wording_and_a_typed_reason_survives_the_refresh(running_stack, page):
    key = "content/constituency/sahada/browser/wording.yaml"
    running_stack.s3().put_object(Bucket="prachar-local-content", Key=key, Body=(
        "title: शब्द\ntext: सबके लिए पाठ\nplatforms: [facebook, x]\npublish_at: 2031-01-01T10:00:00+05:30\n"
        "overrides:\n  x:\n    text: ONLY-ON-X-9c1\n").encode())
    content_id = content_id_for(key)
    running_stack.wait_for(lambda: _waiting(running_stack, content_id), timeout=60)
    sign_in(page, running_stack, "bhilwara-d-01")
    item = page.locator(f"#approvals .queue-item[data-id='{content_id}']")
    item.wait_for(timeout=20000)
    assert item.locator(".wording[data-account='x-sahada']").inner_text().count("ONLY-ON-X-9c1") == 1
    assert "ONLY-ON-X-9c1" not in item.locator(".wording[data-account='fb-sahada']").inner_text()
    item.locator("input").fill("आँकड़े जाँचें")
    page.evaluate("load()")  # what the 30-second refresh does
    page.wait_for_function("document.querySelector('#updated').dateTime !== ''")
    assert page.locator(f"#approvals .queue-item[data-id='{content_id}'] input").input_value() == "आँकड़े जाँचें"
