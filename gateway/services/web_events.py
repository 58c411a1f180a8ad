"""Tracking events of the contact page: who opened, downloaded or zipped what.

The web adapter knows the request; this module turns it into ``tracking.Event``s with
the IP shortened per ``ip_privacy``. Preview visits are never recorded.
"""

from __future__ import annotations

import dataclasses

from gateway.config import Config
from gateway.models import Grant
from gateway.security import cut_user_agent, shorten_ip
from gateway.services.tracking import Event, record_event


@dataclasses.dataclass(frozen=True)
class Visitor:
    """The contact behind a request, and where it came from (IP already shortened)."""

    property: str
    contact: str | None
    ip: str | None
    user_agent: str | None


def visitor(config: Config, grant: Grant, ip: str | None, user_agent: str | None) -> Visitor:
    return visitor_of(config, grant.property.key, grant.contact.ref, ip, user_agent)


def visitor_of(
    config: Config, property_key: str, contact_ref: str, ip: str | None, user_agent: str | None
) -> Visitor:
    return Visitor(
        property=property_key,
        contact=contact_ref,
        ip=shorten_ip(ip, config.ip_privacy),
        user_agent=cut_user_agent(user_agent),
    )


def new_event(
    who: Visitor,
    action: str,
    path: str,
    *,
    status: int,
    size: int | None = None,
    sha256: str | None = None,
) -> Event:
    """An event of ``who``; a body's ``bytes`` and ``complete`` are set when it ends
    (``tracking.settle_transfer``)."""
    return Event(
        property=who.property,
        channel="web",
        action=action,
        path=path,
        contact=who.contact,
        size=size,
        status=status,
        sha256=sha256,
        ip=who.ip,
        user_agent=who.user_agent,
    )


def record(who: Visitor, action: str, path: str, **fields) -> None:
    """Record an event that has no body to wait for (list, denied)."""
    record_event(new_event(who, action, path, **fields))
