"""Who may approve what: the sign-off chain of the campaign's teams.

Per scope level the config says `none`, `lead` or `coordinator` (product.md). `coordinator`: a
coordinator (the state team). `lead`: a coordinator, or a lead of an enclosing team — for constituency
content that is its district's lead or a state lead (the sign-off goes up the chain, compliance.md); for
district and state content a lead of the same scope may sign too. Nobody approves their own content.
Paid promotion and broadcasts to subscribers need an MCMC certificate before anyone can approve them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.scope import Scope

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign, Member


def rule_for(scope: str, campaign: Campaign) -> str:
    return getattr(campaign.approval, Scope.parse(scope).level)


def needs_approval(scope: str, campaign: Campaign, manifest: dict) -> bool:
    return rule_for(scope, campaign) != "none" or needs_certificate(manifest)


def needs_certificate(manifest: dict) -> bool:
    whatsapp = (manifest.get("overrides") or {}).get("whatsapp") or {}
    return bool(manifest.get("paid")) or whatsapp.get("audience") == "subscribers"


def refusal(member: Member, content_scope: str, campaign: Campaign, manifest: dict,
            uploaded_by: str | None) -> str | None:
    """Why `member` may not approve this content, or None if they may."""
    if uploaded_by and member.id == uploaded_by:
        return "nobody approves their own content"
    if needs_certificate(manifest) and not manifest.get("mcmc_certificate"):
        return ("paid promotion and broadcasts to subscribers need an MCMC pre-certification: add "
                "mcmc_certificate to the manifest and upload it again")
    rule = rule_for(content_scope, campaign)
    if member.role == "coordinator":
        return None
    if rule == "coordinator":
        return f"{content_scope} content needs a coordinator's approval; {member.id} is a {member.role}"
    team = campaign.team_of(member.id)
    chain = campaign.enclosing(content_scope)
    allowed = chain[:-1] if Scope.parse(content_scope).level == "constituency" else chain
    if member.role == "lead" and team is not None and team.scope in allowed:
        return None
    return (f"{content_scope} content needs a lead of {' or '.join(allowed)} or a coordinator; "
            f"{member.id} is a {member.role} of {team.scope if team else 'no team'}")
