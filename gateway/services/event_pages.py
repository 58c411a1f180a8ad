"""Tracking events filtered by property, contact, action and time, newest first, a
page at a time: the dashboard's tracking views and their CSV download.

Pages are cut by event id (keyset pagination): a page is "the newest ``limit``
events below id N", which the database answers from the ``property`` or
``contact`` index in id order however many events there are, where an ``OFFSET``
would read and skip every event before the page.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator

from gateway.models import AccessEvent
from gateway.services.tracking import public_event

#: The actions of INTERFACE.md's event table, the only values the filter takes.
ACTIONS = ("open", "download", "zip", "list", "consent", "denied")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclasses.dataclass(frozen=True)
class EventFilter:
    """Which events: each field None means any. ``since`` is inclusive, ``until``
    exclusive (aware datetimes)."""

    property: str | None = None
    contact: str | None = None
    action: str | None = None
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None

    def where(self):
        clauses = []
        if self.property is not None:
            clauses.append(AccessEvent.property == self.property)
        if self.contact is not None:
            clauses.append(AccessEvent.contact == self.contact)
        if self.action is not None:
            clauses.append(AccessEvent.action == self.action)
        if self.since is not None:
            clauses.append(AccessEvent.at >= _utc(self.since))
        if self.until is not None:
            clauses.append(AccessEvent.at < _utc(self.until))
        return clauses


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC)


@dataclasses.dataclass(frozen=True)
class EventPage:
    events: list[dict]  # public_event() of each, newest first
    before: int | None  # the id this page started below (None: the newest)
    next_before: int | None  # pass as ``before`` for the next, older page; None: last


def events_page(
    selection: EventFilter, *, before: int | None = None, limit: int = PAGE_SIZE
) -> EventPage:
    """Up to ``limit`` events of ``selection`` with an id below ``before``, newest first."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = AccessEvent.select()
    clauses = selection.where()
    if before is not None:
        clauses.append(AccessEvent.id < before)
    if clauses:
        query = query.where(*clauses)
    rows = list(query.order_by(AccessEvent.id.desc()).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(
        events=[public_event(row) for row in rows],
        before=before,
        next_before=rows[-1].id if more else None,
    )


def all_events(selection: EventFilter, page_size: int = MAX_PAGE_SIZE) -> Iterator[dict]:
    """Every event of ``selection``, newest first, read page by page (for a download
    of any size in bounded memory)."""
    before = None
    while True:
        page = events_page(selection, before=before, limit=page_size)
        yield from page.events
        if page.next_before is None:
            return
        before = page.next_before
