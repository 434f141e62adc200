"""Who may see and do what: roles from the campaign config, matched to the signed-in member by id.

A coordinator sees and acts on everything; a lead on their team's scope and the scopes inside it; a member
reads their own team's content (and uploads under its prefix, which the bucket policy governs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign, Member



@dataclass(frozen=True)
class Viewer:
    member: Member
    team_scope: str
    scopes: frozenset[str]     # every scope whose posts, accounts and activity this member may read

    @property
    def sees_everything(self) -> bool:
        return self.member.role == "coordinator"

    def may_see(self, scope: str) -> bool:
        return scope in self.scopes


def viewer(campaign: Campaign, member: Member) -> Viewer:
    team = campaign.team_of(member.id)
    team_scope = team.scope if team else "state"
    if member.role == "coordinator":
        scopes = set(campaign.scopes)
    elif member.role == "lead":
        scopes = {scope for scope in campaign.scopes if team_scope in campaign.enclosing(scope)}
    else:
        scopes = {team_scope}
    return Viewer(member=member, team_scope=team_scope, scopes=frozenset(scopes))


def control_refusal(campaign: Campaign, member: Member, scope: str, *, paused_by: str | None = None) -> str | None:
    """Why `member` may not pause (or, with `paused_by`, lift the pause of) `scope`, or None if they may.

    Coordinators pause and resume anything. A lead pauses their scope and the scopes inside it, and lifts only
    a lead's pause there: what a coordinator stopped, a coordinator restarts."""
    if member.role == "coordinator":
        return None
    if member.role != "lead":
        return f"only a coordinator or a lead may pause or resume publishing; {member.id} is a {member.role}"
    own = viewer(campaign, member)
    if not own.may_see(scope):
        return f"{member.id} leads {own.team_scope} and may pause or resume only inside it, not {scope}"
    if paused_by is not None:
        pauser = campaign.member(paused_by)
        if pauser is None or pauser.role == "coordinator":
            return f"{scope} was paused by coordinator {paused_by}: only a coordinator may resume it"
    return None
