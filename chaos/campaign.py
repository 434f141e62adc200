"""A generated campaign and its content: who is in it, which accounts it has, and the posts the run uploads."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml

START = datetime.fromisoformat("2021-03-03T09:00:00+05:30")
POLL_CLOSES = START + timedelta(days=30)  # well after every post: no election silence in the run
SPREAD = timedelta(days=3)
CONSTITUENCIES = ("sahada", "vallabhnagar")
SCOPES = ("state", *(f"constituency/{c}" for c in CONSTITUENCIES))
PLATFORMS = ("facebook", "x", "whatsapp")
TEAM_SIZE = 5
COORDINATOR = "state-01"
UPLOADER = "AWS:AIDACHAOSUPLOADER"


@dataclass(frozen=True)
class PlannedPost:
    number: int
    scope: str
    platform: str
    kind: str          # short | thread | kit
    publish_at: datetime
    uploaded_at: datetime

    @property
    def marker(self) -> str:
        return f"[c{self.number:04d}]"

    @property
    def key(self) -> str:
        return f"content/{self.scope}/chaos/{self.number:04d}-{self.platform}.yaml"

    def manifest(self, revision_word: str = "v1") -> str:
        return yaml.safe_dump({"title": f"chaos {self.number}", "text": self.text(revision_word),
                               "platforms": [self.platform], "publish_at": self.publish_at.isoformat()},
                              allow_unicode=True, width=10_000)

    def text(self, revision_word: str) -> str:
        if self.kind == "thread":
            # The marker opens every sentence, so nearly every thread part carries it (the rest are attributed
            # through the reply chain).
            return " ".join(f"{self.marker} वाक्य {i} ({revision_word}): सड़क, महाविद्यालय और पानी की नई योजना "
                            f"number {i} for the district." for i in range(8))
        return f"{self.marker} सहाड़ा में नई सड़क ({revision_word}) — post {self.number}"


@dataclass
class CampaignPlan:
    document: dict[str, Any]
    posts: list[PlannedPost] = field(default_factory=list)

    @property
    def yaml(self) -> str:
        return yaml.safe_dump(self.document, allow_unicode=True, sort_keys=False)

    def phones(self, scope: str | None = None) -> list[str]:
        return [m["phone"] for t in self.document["teams"] if scope in (None, t["scope"])
                for m in t["members"] if m.get("phone")]

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return self.document["accounts"]

    def account_for(self, scope: str, platform: str) -> str:
        return next(a["id"] for a in self.accounts if a["scope"] == scope and a["platform"] == platform)

    def needs_approval(self, post: PlannedPost) -> bool:
        return self.document["approval"][post.scope.split("/")[0]] != "none"


def plan_campaign(posts: int, rng: random.Random) -> CampaignPlan:
    teams = [{"id": "state-team", "scope": "state", "members": [
        {"id": COORDINATOR, "name": "State coordinator", "role": "coordinator", "phone": "+919100000001"},
        *({"id": f"state-{i:02d}", "name": f"State member {i}", "phone": f"+9191000000{i:02d}"} for i in range(2, 4)),
    ]}]
    for n, constituency in enumerate(CONSTITUENCIES, start=1):
        teams.append({"id": f"{constituency}-team", "scope": f"constituency/{constituency}", "members": [
            {"id": f"{constituency}-{i:02d}", "name": f"{constituency} member {i}", "role": "lead" if i == 1 else
             "member", "phone": f"+9192{n:02d}0000{i:02d}"} for i in range(1, TEAM_SIZE + 1)]})
    accounts = []
    for n, scope in enumerate(SCOPES, start=1):
        name = scope.rsplit("/", 1)[-1]
        accounts += [
            {"id": f"fb-{name}", "scope": scope, "platform": "facebook", "page_id": f"10000000000000{n}",
             "secret": f"/prachar/{{stage}}/accounts/fb-{name}"},
            {"id": f"x-{name}", "scope": scope, "platform": "x", "user_id": f"200000{n}",
             "secret": f"/prachar/{{stage}}/accounts/x-{name}"},
            {"id": f"wa-{name}", "scope": scope, "platform": "whatsapp", "phone_number_id": f"300000{n}",
             "secret": f"/prachar/{{stage}}/accounts/wa-{name}"}]
    # Approval is set per level: state content goes out unsigned, constituency content waits for a sign-off
    # that the run gives while the publisher and re-uploads are racing it.
    document = {
        "campaign": "chaos-bypolls",
        "districts": [{"id": "bhilwara", "name": "Bhilwara"}, {"id": "udaipur", "name": "Udaipur"}],
        "constituencies": [
            {"id": c, "name": c.title(), "district": d, "poll_closes": POLL_CLOSES.isoformat()}
            for c, d in zip(CONSTITUENCIES, ("bhilwara", "udaipur"), strict=True)],
        "teams": teams,
        "approval": {"constituency": "lead", "district": "none", "state": "none"},
        "accounts": accounts,
    }
    plan = CampaignPlan(document)
    for number in range(posts):
        platform = PLATFORMS[number % len(PLATFORMS)]
        kind = "kit" if platform == "whatsapp" else ("thread" if platform == "x" and rng.random() < 0.5 else "short")
        publish_at = START + timedelta(hours=1) + timedelta(minutes=rng.randrange(int(SPREAD.total_seconds() // 60)))
        uploaded_at = START + (publish_at - START) * rng.uniform(0.0, 0.8)
        plan.posts.append(PlannedPost(number, rng.choice(SCOPES), platform, kind, publish_at, uploaded_at))
    return plan
