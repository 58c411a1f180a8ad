"""``grant`` says what it did and keeps what it was not told to change; ``link``
refuses a link that does not work, with the reason."""

from __future__ import annotations

import datetime
import json

import pytest

from gateway.models import Grant
from tests.factories import expire_grant

TODAY = datetime.datetime.now(datetime.UTC).date()
NEXT_YEAR = (TODAY + datetime.timedelta(days=365)).isoformat()
LATER = (TODAY + datetime.timedelta(days=500)).isoformat()


@pytest.fixture
def setup(cli, consent_texts):
    assert cli("property", "add", "obj-17", "--title", "Musterstraße 5").exit_code == 0
    assert cli("contact", "add", "4711", "--name", "Erika Muster").exit_code == 0
    return cli


def granted(cli, *args) -> dict:
    result = cli("grant", "obj-17", "4711", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stored_grant() -> Grant:
    return Grant.get()


def test_each_state_in_json_and_the_expiry_kept_or_cleared(setup):
    cli = setup
    first = granted(cli, "--expires", NEXT_YEAR)
    assert (first["state"], first["expires"]) == ("created", NEXT_YEAR)
    again = granted(cli)
    assert (again["state"], again["expires"]) == ("unchanged", NEXT_YEAR)
    assert again["link"] == first["link"] and again["password"] is None
    moved = granted(cli, "--expires", LATER)
    assert (moved["state"], moved["expires"]) == ("updated", LATER)
    assert cli("revoke", "obj-17", "4711").exit_code == 0
    back = granted(cli)
    assert (back["state"], back["expires"], back["link"]) == ("reactivated", LATER, first["link"])
    cleared = granted(cli, "--no-expiry")
    assert (cleared["state"], cleared["expires"]) == ("updated", None)
    assert stored_grant().expires is None and stored_grant().active


@pytest.mark.parametrize(
    "args,first_line",
    [
        ((), "Grant created."),
        (("--expires", NEXT_YEAR), f"Grant created. Works until {NEXT_YEAR}."),
    ],
)
def test_text_output_names_the_state(setup, args, first_line):
    result = setup("grant", "obj-17", "4711", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith(first_line + " Link: http")
    again = setup("grant", "obj-17", "4711")
    assert again.stdout.startswith("Grant unchanged")
    assert setup("revoke", "obj-17", "4711").exit_code == 0
    assert setup("grant", "obj-17", "4711").stdout.startswith("Grant re-activated")


def test_a_past_date_is_refused_and_changes_nothing(setup):
    cli = setup
    yesterday = (TODAY - datetime.timedelta(days=1)).isoformat()
    result = cli("grant", "obj-17", "4711", "--expires", yesterday)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: the expiry date {yesterday} is in the past — give a later date or --no-expiry"
    )
    assert Grant.select().count() == 0
    granted(cli, "--expires", NEXT_YEAR)
    assert cli("grant", "obj-17", "4711", "--expires", yesterday).exit_code == 1
    assert stored_grant().expires.isoformat() == NEXT_YEAR


def test_today_is_still_a_valid_last_day(setup):
    assert granted(setup, "--expires", TODAY.isoformat())["state"] == "created"
    assert setup("link", "obj-17", "4711").exit_code == 0


def test_regranting_an_expired_grant_needs_a_new_date(setup):
    cli = setup
    granted(cli, "--expires", NEXT_YEAR)
    expire_grant("obj-17", "4711", TODAY - datetime.timedelta(days=3))
    kept = cli("grant", "obj-17", "4711")
    assert kept.exit_code == 1
    assert "expired on" in kept.stderr and "--no-expiry" in kept.stderr
    assert len(kept.stderr.strip().splitlines()) == 1
    assert granted(cli, "--expires", LATER)["state"] == "updated"
    assert cli("link", "obj-17", "4711").exit_code == 0


def test_expires_and_no_expiry_together_is_a_usage_error(setup):
    result = setup("grant", "obj-17", "4711", "--expires", NEXT_YEAR, "--no-expiry")
    assert result.exit_code == 2
    assert Grant.select().count() == 0


@pytest.mark.parametrize("case", ["revoked", "expired", "missing"])
def test_link_refuses_a_link_that_does_not_work(setup, case):
    cli = setup
    assert cli("contact", "add", "4712", "--name", "Max Muster").exit_code == 0
    granted(cli)
    if case == "revoked":
        assert cli("revoke", "obj-17", "4711").exit_code == 0
        expected = f"was revoked on {TODAY.isoformat()}"
    elif case == "expired":
        expire_grant("obj-17", "4711", datetime.date(2020, 1, 31))
        expected = "expired on 2020-01-31"
    ref = "4712" if case == "missing" else "4711"
    if case == "missing":
        expected = "contact '4712' has no grant for property 'obj-17'"
    result = cli("link", "obj-17", ref)
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert expected in line and "immoshare grant obj-17" in line
