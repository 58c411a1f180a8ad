"""What an agent's overview shows: each property with its documents, who has
access and when it was last opened; each document with how often it was opened and
downloaded and by how many contacts; each contact's properties.

Read-only queries over the catalog (``services/catalog``), the grants
(``services/grant_rule`` says which are live) and the tracking events, with the
per-document counting of ``services/reports`` (range reads folded into one access).
"""

from __future__ import annotations

import dataclasses
import datetime

import peewee

from gateway.clock import utc_now
from gateway.models import AccessEvent, CatalogEntry, ConsentRecord, Contact, Grant, Property
from gateway.services.catalog import catalog_entries
from gateway.services.contacts import get_contact
from gateway.services.grant_rule import grant_is_live, live_sql
from gateway.services.properties import get_property
from gateway.services.reports import access_report

#: Longest search text taken; longer input is cut, not refused.
MAX_SEARCH = 200


@dataclasses.dataclass(frozen=True)
class PropertySummary:
    key: str
    title: str
    requires_consent: bool
    documents: int
    total_bytes: int
    contacts_with_access: int
    last_access: datetime.datetime | None


def _last_contact_access(key: str) -> datetime.datetime | None:
    """The time of the newest event of a contact (not an agent) in ``key``."""
    last = (
        AccessEvent.select(AccessEvent.at)
        .where((AccessEvent.property == key) & AccessEvent.contact.is_null(False))
        .order_by(AccessEvent.id.desc())
        .first()
    )
    return last.at if last else None


def matches(search: str, *texts: str) -> bool:
    """Every word of ``search`` is in one of ``texts`` (case and ß/ss ignored)."""
    haystack = " ".join(texts).casefold()
    return all(word in haystack for word in search[:MAX_SEARCH].casefold().split())


def property_summaries(search: str | None = None) -> list[PropertySummary]:
    """Every property (those whose key or title holds each word of ``search``), by key."""
    properties = [
        p
        for p in Property.select().order_by(Property.key)
        if not search or matches(search, p.key, p.title)
    ]
    keys = [p.key for p in properties]
    if not keys:
        return []
    files = {
        row[0]: (row[1], row[2] or 0)
        for row in CatalogEntry.select(
            CatalogEntry.property,
            peewee.fn.COUNT(CatalogEntry.id),
            peewee.fn.SUM(CatalogEntry.size),
        )
        .where(CatalogEntry.property.in_(keys))
        .group_by(CatalogEntry.property)
        .tuples()
    }
    live = {
        row[0]: row[1]
        for row in Grant.select(Property.key, peewee.fn.COUNT(Grant.id))
        .join(Property)
        .where(Property.key.in_(keys) & live_sql(utc_now().date()))
        .group_by(Property.key)
        .tuples()
    }
    return [
        PropertySummary(
            key=p.key,
            title=p.title,
            requires_consent=p.requires_consent,
            documents=files.get(p.key, (0, 0))[0],
            total_bytes=files.get(p.key, (0, 0))[1],
            contacts_with_access=live.get(p.key, 0),
            last_access=_last_contact_access(p.key),
        )
        for p in properties
    ]


@dataclasses.dataclass(frozen=True)
class DocumentStat:
    path: str
    size: int
    opens: int
    downloads: int
    contacts: int  # how many contacts opened or downloaded it

    @property
    def folder(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]


def document_stats(key: str) -> list[DocumentStat]:
    """Each file of ``key`` as catalogued, by folder and name, with the contacts' opens and
    downloads as ``tracking show --property`` counts them.

    :raises NotFound: no such property."""
    get_property(key)
    per_path: dict[str, list] = {}
    for row in access_report(property_key=key).contacts:
        counts = per_path.setdefault(row.path, [0, 0, set()])
        counts[0] += row.opens
        counts[1] += row.downloads
        counts[2].add(row.contact)
    stats = []
    for entry in catalog_entries(key):
        opens, downloads, readers = per_path.get(entry.path, (0, 0, set()))
        stats.append(DocumentStat(entry.path, entry.size, opens, downloads, len(readers)))
    stats.sort(key=lambda stat: (stat.folder.casefold(), stat.name.casefold()))
    return stats  # by folder (the main folder first), then by name


@dataclasses.dataclass(frozen=True)
class ContactGrant:
    property: str
    title: str
    live: bool
    active: bool
    expires: datetime.date | None
    consent_at: datetime.datetime | None


def contact_grants(ref: str) -> tuple[Contact, list[ContactGrant]]:
    """The contact and every property granted to them (live or not), by key.

    :raises NotFound: no such contact."""
    contact = get_contact(ref)
    grants = list(
        Grant.select(Grant, Property)
        .join(Property)
        .where(Grant.contact == contact)
        .order_by(Property.key)
    )
    consents = {
        c.grant_id: c.at
        for c in ConsentRecord.select(ConsentRecord.grant, ConsentRecord.at).where(
            ConsentRecord.grant.in_([g.id for g in grants])
        )
    }
    return contact, [
        ContactGrant(
            property=g.property.key,
            title=g.property.title,
            live=grant_is_live(g),
            active=g.active,
            expires=g.expires,
            consent_at=consents.get(g.id),
        )
        for g in grants
    ]
