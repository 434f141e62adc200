"""An audience file's rows: complete consent goes in; anything less is refused, by row, with the number masked."""

from datetime import UTC, datetime

import pytest

from chalicelib.domain.audience import COLUMNS, Contact, Refusal, check_header, check_row
from chalicelib.domain.phone import mask, normalise

NOW = datetime(2021, 3, 10, 6, 0, tzinfo=UTC)
NAMES = [*COLUMNS, "booth"]
GOOD = ["98765 43210", "सीता देवी", "missed call 2021-03", "2021-03-01T10:30:00+05:30", "v1", "hi", "112"]


def row(**changes):
    values = dict(zip(NAMES, GOOD, strict=True))
    values.update(changes)
    return [values[name] for name in NAMES]


def test_a_complete_row_is_a_contact_with_its_number_in_e164():
    contact = check_row(2, NAMES, row(), NOW, frozenset({"v1"}))
    assert isinstance(contact, Contact)
    assert (contact.phone, contact.language, contact.notice_version, contact.extra) == (
        "+919876543210", "hi", "v1", {"booth": "112"})
    assert contact.consent_at == datetime(2021, 3, 1, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize("changes, reason, field", [
    ({"consent_source": ""}, "no_consent", "consent_source"),
    ({"consent_at": ""}, "no_consent", "consent_at"),
    ({"notice_version": ""}, "no_consent", "notice_version"),
    ({"consent_at": "last week"}, "no_consent", "consent_at"),
    ({"consent_at": "2021-04-01"}, "no_consent", "consent_at"),  # after NOW: not given yet
    ({"notice_version": "v9"}, "no_consent", "notice_version"),
    ({"consent_source": "purchased list from vendor"}, "not_consent", "consent_source"),
    ({"consent_source": "Scraped from Facebook"}, "not_consent", "consent_source"),
    ({"language": "fr"}, "invalid_row", "language"),
    ({"phone": "12345"}, "invalid_number", "phone"),
    ({"phone": "not a number"}, "invalid_number", "phone"),
    ({"phone": ""}, "invalid_number", "phone"),
])
def test_a_row_without_complete_consent_or_a_real_number_is_refused(changes, reason, field):
    refused = check_row(7, NAMES, row(**changes), NOW, frozenset({"v1"}))
    assert isinstance(refused, Refusal)
    assert refused.reason == reason and refused.row == 7
    assert field in {p.field for p in refused.problems}
    assert all(p.row == 7 for p in refused.problems)


def test_a_refusal_never_shows_the_whole_number():
    refused = check_row(3, NAMES, row(consent_at=""), NOW)
    text = " ".join(p.message + p.fix for p in refused.problems)
    assert "9876543210" not in text and "+91XXXXXX3210" in text


def test_languages_by_name_and_dates_without_time():
    contact = check_row(2, NAMES, row(language="Hindi", consent_at="2021-03-01"), NOW)
    assert contact.language == "hi" and contact.consent_at.isoformat() == "2021-03-01T00:00:00+05:30"
    assert check_row(2, NAMES, row(language="english"), NOW).language == "en"


def test_a_blank_line_is_skipped():
    assert check_row(5, NAMES, ["", " ", "", "", "", "", ""], NOW) is None


def test_the_header_needs_the_six_columns_and_allows_more():
    assert check_header([*COLUMNS, "booth", "ward"])[1] == []
    names, problems = check_header(["Phone", " Name", "consent_source", "consent_at", "language"])
    assert names[:2] == ["phone", "name"]
    assert [p.field for p in problems] == ["notice_version"]
    assert check_header(["phone;name;consent_source"])[1][0].message.startswith("the columns are separated by")


@pytest.mark.parametrize("raw, e164", [("98765 43210", "+919876543210"), ("098765-43210", "+919876543210"),
                                       ("+91 98765 43210", "+919876543210"), ("919876543210", "+919876543210"),
                                       ("+1 650 555 1234", "+16505551234")])
def test_numbers_are_normalised_to_e164(raw, e164):
    assert normalise(raw) == e164


def test_a_masked_number_keeps_the_country_code_and_four_digits():
    assert mask("+919876543210") == "+91XXXXXX3210"
    assert mask("+16505551234") == "+1XXXXXX1234"
