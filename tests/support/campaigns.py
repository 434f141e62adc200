"""Variants of the test campaign (tests/support/campaign.yaml) that several test files need."""

from __future__ import annotations

import yaml


def with_principals(campaign_yaml: str, **changes) -> str:
    """The test campaign with every member named by an IAM user id (AIDA<ID>), as a cloud campaign would be."""
    document = yaml.safe_load(campaign_yaml)
    for team in document["teams"]:
        for member in team["members"]:
            member["principal"] = f"AIDA{member['id'].upper().replace('-', '')}"
    document.update(changes)
    return yaml.safe_dump(document, allow_unicode=True)


def two_districts(campaign_yaml: str) -> dict:
    """The test campaign with the default sign-off chain, a Bhilwara district lead, and a Vallabhnagar team and
    Facebook account — a district to see and one not to."""
    document = yaml.safe_load(campaign_yaml)
    document.pop("approval")
    document["teams"] += [
        {"id": "bhilwara-it-cell", "scope": "district/bhilwara", "members": [
            {"id": "bhilwara-01", "name": "जिला लीड", "role": "lead"}]},
        {"id": "vallabhnagar-it-cell", "scope": "constituency/vallabhnagar", "members": [
            {"id": "vallabhnagar-01", "name": "टीम लीड", "role": "lead"}]}]
    document["accounts"].append({"id": "fb-vallabhnagar", "scope": "constituency/vallabhnagar",
                                 "platform": "facebook", "page_id": "100000000000009",
                                 "secret": "/prachar/{stage}/accounts/fb-vallabhnagar"})
    return document
