"""Tamper evidence: `tracking verify` checks the hash chain and names the first
broken event after rows are changed, deleted or swapped in the database."""

from __future__ import annotations

import datetime
import json

import pytest

from gateway.clock import iso
from gateway.db import database
from gateway.models import AccessEvent, ChainCheckpoint
from gateway.services import tracking

SWAPPED = (
    "at",
    "property",
    "contact",
    "agent",
    "channel",
    "action",
    "path",
    "bytes",
    "size",
    "complete",
    "status",
    "sha256",
    "ip",
    "user_agent",
    "uid",
    "prev_hash",
    "hash",
    "subject",
    "range_start",
)


@pytest.fixture
def six_events(config):
    for number in range(1, 7):
        tracking.record_event(
            tracking.Event(
                property="obj-1",
                channel="dav",
                action="download",
                path=f"Plan {number}.pdf",
                contact="4711",
                bytes=1000 * number,
                size=1000 * number,
                complete=True,
                status=200,
                sha256="ab" * 32,
                ip="203.0.113.77",
                user_agent="WebDAVFS/3.0.0",
            )
        )
    return [e.id for e in AccessEvent.select().order_by(AccessEvent.id)]


def update_row(event_id: int, **values) -> None:
    columns = ", ".join(f"{name} = {database.param}" for name in values)
    database.execute_sql(
        f"UPDATE access_event SET {columns} WHERE id = {database.param}",
        [*values.values(), event_id],
    )


def swap_rows(first: int, second: int) -> None:
    a, b = (AccessEvent.select().where(AccessEvent.id == i).dicts().get() for i in (first, second))
    update_row(first, uid="being-swapped")  # uid is unique
    update_row(second, **{k: a[k] for k in SWAPPED})
    update_row(first, **{k: b[k] for k in SWAPPED})


def test_an_untouched_chain_verifies(cli, six_events):
    result = cli("tracking", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("6 event(s) checked, chain intact.")
    data = json.loads(cli("tracking", "verify", "--json").stdout)
    assert (data["ok"], data["checked"], data["broken_event"]) == (True, 6, None)


@pytest.mark.parametrize(
    "tamper,broken",
    [
        (lambda ids: update_row(ids[2], bytes=999999), 2),
        (lambda ids: update_row(ids[2], contact="4712"), 2),
        (lambda ids: update_row(ids[2], at="2020-01-01 00:00:00+00:00"), 2),
        (
            lambda ids: database.execute_sql(
                f"DELETE FROM access_event WHERE id = {database.param}", [ids[2]]
            ),
            3,
        ),
        (lambda ids: swap_rows(ids[1], ids[3]), 1),
    ],
    ids=["update-bytes", "update-contact", "update-time", "delete", "swap"],
)
def test_changed_deleted_or_swapped_rows_break_the_chain(cli, six_events, tamper, broken):
    tamper(six_events)
    result = cli("tracking", "verify")
    assert result.exit_code == 1
    assert f"event {six_events[broken]} is broken" in result.stderr
    assert "Traceback" not in result.output
    data = json.loads(cli("tracking", "verify", "--json").stdout)
    assert (data["ok"], data["broken_event"]) == (False, six_events[broken])


def test_a_rehashed_edit_is_caught_at_the_next_event(cli, six_events):
    row = AccessEvent.select().where(AccessEvent.id == six_events[2]).dicts().get()
    forged = {name: row[name] for name in tracking.CHAINED_FIELDS}
    forged.update(at=iso(row["at"]), complete=bool(row["complete"]), bytes=1)
    update_row(six_events[2], bytes=1, hash=tracking.chain_hash(row["prev_hash"], forged))
    result = cli("tracking", "verify")
    assert result.exit_code == 1
    assert f"event {six_events[3]} is broken" in result.stderr


def test_prune_deletes_the_old_events_and_the_rest_still_verifies(cli, config):
    for year in (2020, 2021, 2023):
        tracking.record_event(
            tracking.Event(
                property="obj-1",
                channel="web",
                action="list",
                contact="4711",
                at=datetime.datetime(year, 6, 1, tzinfo=datetime.UTC),
            )
        )
    result = cli("tracking", "prune", "--before", "2022-01-01", "--yes")
    assert result.exit_code == 0, result.output
    assert "2 event(s) pruned" in result.stderr
    tracking.record_event(tracking.Event(property="obj-1", channel="web", action="list"))
    assert [e.id for e in AccessEvent.select().order_by(AccessEvent.id)] == [3, 4]
    verified = cli("tracking", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("2 event(s) checked")
    ChainCheckpoint.delete().execute()  # hiding the prune breaks the chain
    assert "event 3 is broken" in cli("tracking", "verify").stderr
