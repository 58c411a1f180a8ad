"""A contact's first open of a property: the one rule that webhooks (the type
``first-open``) and agents' notifications both ask.

An access is a ``list``, ``open``, ``download`` or ``zip`` event of a contact (not of
an agent, not refused). The first open of (property, contact) is the access with the
lowest event id; once decided it is kept in ``FirstOpen``, so pruning old events,
replays or several processes asking at once never make a later access "first".
"""

from __future__ import annotations

import peewee as pw

from gateway.models import AccessEvent, FirstOpen

#: Actions that show a contact something of the share.
ACCESS_ACTIONS = ("list", "open", "download", "zip")
#: The delivery and notification type of a first open.
FIRST_OPEN = "first-open"


def is_access(event: AccessEvent) -> bool:
    """True for a contact's successful look at the share (``ACCESS_ACTIONS``)."""
    return (
        event.contact is not None
        and event.agent is None
        and event.action in ACCESS_ACTIONS
        and (event.status is None or event.status < 400)
    )


def first_open_id(property_key: str, ref: str) -> int | None:
    """The id of the contact's first access to the property, or None before any."""
    kept = FirstOpen.get_or_none((FirstOpen.property == property_key) & (FirstOpen.contact == ref))
    if kept is not None:
        return kept.event_id
    earliest = (
        AccessEvent.select(pw.fn.MIN(AccessEvent.id))
        .where(
            (AccessEvent.property == property_key)
            & (AccessEvent.contact == ref)
            & AccessEvent.agent.is_null()
            & AccessEvent.action.in_(ACCESS_ACTIONS)
            & (AccessEvent.status.is_null() | (AccessEvent.status < 400))
        )
        .scalar()
    )
    if earliest is None:
        return None
    # Another process may decide at the same moment: the first row written stands.
    FirstOpen.insert(
        property=property_key, contact=ref, event_id=earliest
    ).on_conflict_ignore().execute()
    return FirstOpen.get((FirstOpen.property == property_key) & (FirstOpen.contact == ref)).event_id


def pseudonymise(ref: str, pseudonym: str) -> None:
    """Follow a GDPR erasure: the kept first opens name the pseudonym, as the events do."""
    FirstOpen.update(contact=pseudonym).where(FirstOpen.contact == ref).execute()
