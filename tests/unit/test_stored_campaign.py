"""The Lambdas read the active campaign as domain/stored_campaign.py's plain classes; the config upload validates it
with domain/campaign.py's pydantic models. Two readings of one document must answer every question alike — the
election calendar, the scopes, who may do what — or a Lambda would publish by other rules than the upload checked."""

from pathlib import Path

import pytest
import yaml

from chalicelib.domain.campaign import Campaign
from chalicelib.domain.stored_campaign import StoredCampaign, read_campaign, stored_campaign

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = {"example": ROOT / "examples" / "config" / "campaign.yaml",
             "tests": ROOT / "tests" / "support" / "campaign.yaml"}


def _value(thing):
    """A reading as plain data: every field of the pydantic model (its own annotations) and its stored twin."""
    fields = getattr(type(thing), "model_fields", None) or getattr(type(thing), "FIELDS", None)
    if fields is not None and not isinstance(thing, (str, bytes)):
        return {name: _value(getattr(thing, name)) for name in fields}
    if isinstance(thing, list):
        return [_value(x) for x in thing]
    if isinstance(thing, dict):
        return {k: _value(v) for k, v in thing.items()}
    return thing


@pytest.fixture(params=sorted(DOCUMENTS))
def readings(request):
    validated = Campaign.model_validate(yaml.safe_load(DOCUMENTS[request.param].read_text(encoding="utf-8")))
    stored = read_campaign(validated.model_dump(mode="json"))
    return validated, stored


def test_the_stored_dump_is_read_without_pydantic_and_holds_every_field(readings):
    validated, stored = readings
    assert isinstance(stored, StoredCampaign), "this release's dump must take the plain path, not fall back"
    assert _value(stored) == _value(validated)


def test_both_readings_answer_the_rules_alike(readings):
    validated, stored = readings
    scopes = sorted(validated.scopes)
    assert sorted(stored.scopes) == scopes
    for scope in [*scopes, "constituency/nowhere", "district/nowhere"]:
        assert stored.enclosing(scope) == validated.enclosing(scope), scope
        assert _value(stored.accounts_in(scope)) == _value(validated.accounts_in(scope)), scope
        assert _value(stored.team_members(scope)) == _value(validated.team_members(scope)), scope
        assert stored.team_for(scope) == validated.team_for(scope), scope
    for c_stored, c_validated in zip(stored.constituencies, validated.constituencies, strict=True):
        assert c_stored.silence_starts == c_validated.silence_starts and c_stored.poll_closes == c_validated.poll_closes
    for a_stored, a_validated in zip(stored.accounts, validated.accounts, strict=True):
        assert a_stored.target_id == a_validated.target_id
    members = [m for t in validated.teams for m in t.members]
    for member in members:
        assert _value(stored.member(member.id)) == _value(member)
        assert _value(stored.team_of(member.id)) == _value(validated.team_of(member.id))
        if member.principal:
            assert _value(stored.member_by_principal(f"AWS:{member.principal}")) == _value(
                validated.member_by_principal(f"AWS:{member.principal}"))
    assert stored.maps_principals == validated.maps_principals
    assert _value(stored.config_uploaders()) == _value(validated.config_uploaders())


def test_a_document_of_another_shape_is_validated_as_before():
    document = Campaign.model_validate(yaml.safe_load(DOCUMENTS["tests"].read_text(encoding="utf-8"))).model_dump(
        mode="json")
    older = {k: v for k, v in document.items() if k != "operations"}  # a field added since, missing
    assert stored_campaign(older) is None
    assert isinstance(read_campaign(older), Campaign)
    with pytest.raises(ValueError):
        read_campaign({**document, "unknown_field": 1})  # a field this release does not know is refused
