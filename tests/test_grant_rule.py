"""The grant rule in Python and in SQL gives the same answer for every kind of grant."""

from __future__ import annotations

import datetime

import pytest

from gateway.models import ConsentRecord, Grant, Property
from gateway.services import grant_rule, grants
from tests.factories import make_contact, make_grant, make_property

#: Both dialects: the SQL text differs between SQLite and PostgreSQL.
pytestmark = pytest.mark.each_database

TODAY = datetime.date(2030, 6, 15)
YESTERDAY = TODAY - datetime.timedelta(days=1)
TOMORROW = TODAY + datetime.timedelta(days=1)

# name: (property asks consent, consent given, active, expires) -> opens
CASES = {
    "live, no expiry, no consent asked": (False, False, True, None, True),
    "live, expires tomorrow": (False, False, True, TOMORROW, True),
    "live, expires today (the last day counts)": (False, False, True, TODAY, True),
    "expired yesterday": (False, False, True, YESTERDAY, False),
    "revoked": (False, False, False, None, False),
    "revoked, not expired": (False, False, False, TOMORROW, False),
    "consent asked and given": (True, True, True, None, True),
    "consent asked, not given": (True, False, True, None, False),
    "consent given but expired": (True, True, True, YESTERDAY, False),
    "consent given but revoked": (True, True, False, None, False),
    "consent asked, not given, expires today": (True, False, True, TODAY, False),
}


@pytest.fixture
def grants_by_case(config):
    ids = {}
    for number, (name, (asks, given, active, expires, _)) in enumerate(CASES.items()):
        key, ref = f"obj-{number}", f"c-{number}"
        make_property(config, key, requires_consent=asks)
        make_contact(ref)
        make_grant(config, key, ref)
        grant = grants.get_grant(key, ref)
        Grant.update(active=active, expires=expires).where(Grant.id == grant.id).execute()
        if given:
            ConsentRecord.create(
                grant=grant,
                widerruf_version=1,
                widerruf_sha256="0" * 64,
                early_start=True,
                widerruf_acknowledged=True,
            )
        ids[name] = grant.id
    return ids


def python_answers(ids: dict[str, int]) -> dict[str, bool]:
    answers = {}
    for name, grant_id in ids.items():
        grant = Grant.select(Grant, Property).join(Property).where(Grant.id == grant_id).get()
        answers[name] = grant_rule.grant_opens(grant, grant_rule.has_consent(grant), TODAY)
    return answers


def sql_answers(ids: dict[str, int]) -> dict[str, bool]:
    opening = {
        row.id
        for row in Grant.select(Grant.id).join(Property).where(grant_rule.grant_opens_sql(TODAY))
    }
    return {name: grant_id in opening for name, grant_id in ids.items()}


def test_python_and_sql_agree_with_the_table(grants_by_case):
    expected = {name: case[-1] for name, case in CASES.items()}
    assert python_answers(grants_by_case) == expected
    assert sql_answers(grants_by_case) == expected


def test_live_and_consent_parts_agree(grants_by_case):
    """The link query selects the two parts separately; each matches Python too."""
    rows = {
        row[0]: (bool(row[1]), bool(row[2]))
        for row in Grant.select(
            Grant.id,
            grant_rule.live_sql(TODAY),
            ~grant_rule.consent_satisfied_sql(),
        )
        .join(Property)
        .tuples()
    }
    for name, grant_id in grants_by_case.items():
        grant = Grant.select(Grant, Property).join(Property).where(Grant.id == grant_id).get()
        python = (
            grant_rule.grant_is_live(grant, TODAY),
            grant_rule.needs_consent(grant),
        )
        assert rows[grant_id] == python, name
