"""Access reports: per document, who opened or downloaded it, when first and last,
how often, and whether it ever arrived whole.

The two reports of the seed: per property (one row per contact and document) and
per contact (one row per property and document). Agents' own reads are kept
apart. A file manager reads big files as many Range requests, some in parallel;
those are folded into one access: consecutive 206 responses for the same reader,
file and version, each within ``FOLD_WINDOW`` of the previous one. Such an access
is complete when the ranges together cover the whole file.
"""

from __future__ import annotations

import dataclasses
import datetime

from gateway.errors import NotFound
from gateway.models import AccessEvent, Contact, Property
from gateway.services.tracking import public_event

FOLD_WINDOW = datetime.timedelta(minutes=10)
FILE_ACTIONS = ("open", "download")


@dataclasses.dataclass
class Access:
    """One open or download of a file; a run of range reads counts as one."""

    action: str
    first: datetime.datetime
    last: datetime.datetime
    size: int | None
    sha256: str | None
    complete: bool
    bytes: int
    ranges: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    events: list[AccessEvent] = dataclasses.field(default_factory=list)

    def absorbs(self, event: AccessEvent) -> bool:
        """A range read that continues this run of range reads."""
        previous = self.events[-1]
        return (
            event.status == 206
            and previous.status == 206
            and event.sha256 == self.sha256
            and event.action == self.action
            and _aware(event.at) - _aware(self.last) <= FOLD_WINDOW
        )

    def add(self, event: AccessEvent) -> None:
        self.events.append(event)
        self.last = max(self.last, event.at, key=_aware)
        self.bytes += event.bytes
        if event.range_start is not None:
            self.ranges.append((event.range_start, event.range_start + event.bytes))
            self.complete = self.complete or _covers(self.ranges, self.size)
        else:
            self.complete = self.complete or bool(event.complete)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _covers(ranges: list[tuple[int, int]], size: int | None) -> bool:
    if size is None:
        return False
    reached = 0
    for start, end in sorted(ranges):
        if start > reached:
            return False
        reached = max(reached, end)
    return reached >= size


def _start(event: AccessEvent) -> Access:
    access = Access(
        action=event.action,
        first=event.at,
        last=event.at,
        size=event.size,
        sha256=event.sha256,
        complete=False,
        bytes=0,
    )
    access.add(event)
    return access


@dataclasses.dataclass
class DocumentRow:
    """One reader and one document: the report line."""

    role: str  # "contact" or "agent"
    property: str
    contact: str | None
    agent: str | None
    path: str
    first: datetime.datetime
    last: datetime.datetime
    opens: int
    downloads: int
    complete: bool
    bytes: int
    sha256: str | None
    channels: list[str]
    events: list[dict]


@dataclasses.dataclass
class Report:
    property: str | None
    contact: str | None
    contacts: list[DocumentRow]
    agents: list[DocumentRow]


def fold(events: list[AccessEvent]) -> list[Access]:
    """The accesses of one reader to one file, events in id order."""
    accesses: list[Access] = []
    for event in events:
        if accesses and accesses[-1].absorbs(event):
            accesses[-1].add(event)
        else:
            accesses.append(_start(event))
    return accesses


def require_known(*, property_key: str | None = None, contact: str | None = None) -> None:
    """Refuse a property or contact that neither exists nor has events (a removed
    property and an erased contact's pseudonym keep theirs), so that a typo is an
    error rather than an empty report.

    :raises NotFound: no such property or contact.
    """
    if property_key is not None and not (
        Property.select().where(Property.key == property_key).exists()
        or AccessEvent.select().where(AccessEvent.property == property_key).exists()
    ):
        raise NotFound(f"property '{property_key}' not found — see `immoshare property list`")
    if contact is not None and not (
        Contact.select().where(Contact.ref == contact).exists()
        or AccessEvent.select().where(AccessEvent.contact == contact).exists()
    ):
        raise NotFound(f"contact '{contact}' not found — see `immoshare contact list`")


def access_report(
    *, property_key: str | None = None, contact: str | None = None, by_version: bool = False
) -> Report:
    """The document report for a property, a contact, both or everything. With
    ``by_version`` each version (sha256) of a document is its own row, as the
    Nachweis lists what exactly went out (``services/nachweis``).

    :raises NotFound: see :func:`require_known`.
    """
    require_known(property_key=property_key, contact=contact)
    query = AccessEvent.select().where(AccessEvent.action.in_(FILE_ACTIONS))
    if property_key is not None:
        query = query.where(AccessEvent.property == property_key)
    if contact is not None:
        query = query.where(AccessEvent.contact == contact)
    groups: dict[tuple, list[AccessEvent]] = {}
    for event in query.order_by(AccessEvent.id):
        role = "agent" if event.agent else "contact"
        reader = event.agent if event.agent else event.contact
        version = event.sha256 if by_version else None
        groups.setdefault((role, reader, event.property, event.path, version), []).append(event)
    rows = [_row(key, events) for key, events in groups.items()]
    rows.sort(
        key=lambda r: (
            (r.property, r.contact or r.agent or "", r.path)
            if contact is not None
            else (r.contact or r.agent or "", r.property, r.path)
        )
    )
    return Report(
        property=property_key,
        contact=contact,
        contacts=[r for r in rows if r.role == "contact"],
        agents=[r for r in rows if r.role == "agent"],
    )


def _row(key: tuple, events: list[AccessEvent]) -> DocumentRow:
    role, reader, property_key, path, _version = key
    by_channel: dict[str, list[AccessEvent]] = {}
    for event in events:
        by_channel.setdefault(event.channel, []).append(event)
    accesses = [a for channel_events in by_channel.values() for a in fold(channel_events)]
    return DocumentRow(
        role=role,
        property=property_key,
        path=path,
        contact=reader if role == "contact" else None,
        agent=reader if role == "agent" else None,
        first=min((a.first for a in accesses), key=_aware),
        last=max((a.last for a in accesses), key=_aware),
        opens=sum(1 for a in accesses if a.action == "open"),
        downloads=sum(1 for a in accesses if a.action == "download"),
        complete=any(a.complete for a in accesses),
        bytes=sum(a.bytes for a in accesses),
        sha256=events[-1].sha256,
        channels=sorted(by_channel),
        events=[public_event(e) for e in events],
    )
