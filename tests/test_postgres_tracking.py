"""The tracking chain on PostgreSQL under concurrent writers.

On PostgreSQL two transactions can commit in the other order than they drew their
ids. A consumer polling "events after my cursor" would then move its cursor past an
event that becomes visible only later, and never see it. ``services/tracking``
prevents it by serialising appends under a transaction-level advisory lock; this
shows, with real connections and no sleeps, that a writer whose commit is slow holds
back every later writer, so nothing after an invisible event is ever visible.
"""

from __future__ import annotations

import threading

import pytest

from gateway.db import database
from gateway.services import export, tracking
from tests.tools import wait_until

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def database_url(postgres_url):
    return postgres_url


def _row(name: str) -> dict:
    return tracking.to_row(
        tracking.Event(
            property="obj-1", channel="web", action="download", path=f"{name}.pdf", contact="4711"
        )
    )


def _waiting_for_a_lock() -> int:
    return database.execute_sql(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()[0]


def _in_thread(target) -> tuple[threading.Thread, list]:
    errors: list = []

    def run():
        try:
            with database.connection_context():
                target()
        except Exception as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_a_slow_commit_holds_back_later_writers_so_no_consumer_skips(config):
    with database.connection_context():
        tracking.append_rows([_row("before")])
        cursor = export.page_after(None, 100).next
    inside, commit = threading.Event(), threading.Event()

    def slow_writer():
        with tracking.chain_transaction():
            tracking.append_rows([_row("slow")])
            inside.set()
            commit.wait(60)

    slow, slow_errors = _in_thread(slow_writer)
    assert inside.wait(30)
    fast, fast_errors = _in_thread(lambda: tracking.append_rows([_row("fast")]))

    seen = []
    with database.connection_context():
        # Until the fast writer queues behind the slow one's lock (or, were appends
        # not serialised, commits), poll as a consumer would.
        wait_until(
            lambda: not fast.is_alive() or _waiting_for_a_lock() > 0,
            message="the later writer neither waited for a lock nor finished",
        )
        page = export.page_after(cursor, 100)
        seen += page.events
        cursor = page.next
        assert fast.is_alive(), "a later writer committed while an earlier one was open"
        commit.set()
        slow.join(30)
        fast.join(30)
        assert not slow_errors and not fast_errors, (slow_errors, fast_errors)
        page = export.page_after(cursor, 100)
        seen += page.events

    assert [e["path"] for e in seen] == ["slow.pdf", "fast.pdf"]
    assert seen[1]["id"] == seen[0]["id"] + 1
    with database.connection_context():
        assert tracking.verify_chain().ok


def test_concurrent_appends_from_many_threads_form_one_gap_free_chain(config):
    threads = [
        _in_thread(lambda i=i: tracking.append_rows([_row(f"t{i}-{n}") for n in range(5)]))
        for i in range(16)
    ]
    for thread, errors in threads:
        thread.join(60)
        assert not errors, errors
    with database.connection_context():
        events = export.page_after(None, 1000).events
        assert len(events) == 80
        ids = [e["id"] for e in events]
        assert ids == list(range(ids[0], ids[0] + 80))
        assert tracking.verify_chain().ok
