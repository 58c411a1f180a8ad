"""Tracking events: one append path for web and WebDAV, chained by hashes.

Fields are fixed by INTERFACE.md. ``record_event`` is what every adapter calls.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import secrets

from gateway.clock import iso, utc_now
from gateway.db import database
from gateway.models import AccessEvent

GENESIS = "0" * 64
ACTIONS = ("open", "download", "zip", "list", "consent", "denied")
CHANNELS = ("web", "dav")


@dataclasses.dataclass
class Event:
    """One access as an adapter saw it. ``bytes``/``complete`` are set when it ends."""

    property: str
    channel: str
    action: str
    path: str = ""
    contact: str | None = None
    agent: str | None = None
    bytes: int = 0
    size: int | None = None
    complete: bool = False
    status: int | None = None
    sha256: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    at: datetime.datetime = dataclasses.field(default_factory=utc_now)
    uid: str = dataclasses.field(default_factory=lambda: secrets.token_hex(16))


CHAINED_FIELDS = ("at", "property", "contact", "agent", "channel", "action", "path", "bytes",
                  "size", "complete", "status", "sha256", "ip", "user_agent", "uid")


def chain_hash(prev_hash: str, row: dict) -> str:
    """The hash of an event: its fields in a fixed order, after the previous hash."""
    material = json.dumps([prev_hash] + [row[name] for name in CHAINED_FIELDS],
                          ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(material.encode()).hexdigest()


def _row(event: Event) -> dict:
    row = {name: getattr(event, name) for name in CHAINED_FIELDS}
    row["at"] = iso(event.at)
    return row


def record_event(event: Event) -> None:
    """Append ``event`` to the chain."""
    row = _row(event)
    with database.atomic():
        last = AccessEvent.select(AccessEvent.hash).order_by(AccessEvent.id.desc()).first()
        prev = last.hash if last else GENESIS
        AccessEvent.create(**{**row, "at": event.at}, prev_hash=prev, hash=chain_hash(prev, row))
