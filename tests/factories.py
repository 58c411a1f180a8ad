"""Plain functions that create domain objects with sensible defaults."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from gateway.services import agents, contacts, grants, properties

AGENT_PASSWORD = "agent-secret-pw"


def make_agent(name: str = "anna", password: str = AGENT_PASSWORD):
    agent, _ = agents.add_agent(name, password)
    return agent


def make_property(
    config,
    key: str = "obj-1",
    title: str = "Musterstraße 5",
    *,
    requires_consent: bool = False,
    files: dict[str, bytes] | None = None,
):
    prop = properties.add_property(config, key, title, requires_consent=requires_consent)
    folder = properties.storage_folder(config, key)
    for relative, content in (files or {}).items():
        target = Path(folder, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return prop


def make_contact(ref: str = "4711", name: str = "Erika Mustermann", email=None):
    return contacts.add_contact(ref, name, email)


def make_grant(config, key: str = "obj-1", ref: str = "4711", **kwargs):
    """A grant; ``expires`` in the past gives one that has expired since (``grant``
    itself refuses a past date)."""
    expires = kwargs.get("expires")
    if isinstance(expires, datetime.date) and expires < datetime.datetime.now(datetime.UTC).date():
        result = grants.grant_access(config, key, ref, **dict(kwargs, expires=None))
        expire_grant(key, ref, expires)
        return dataclasses.replace(result, expires=expires)
    return grants.grant_access(config, key, ref, **kwargs)


def expire_grant(key: str, ref: str, day: datetime.date) -> None:
    """Let time pass: the grant's last valid day becomes ``day``."""
    grant = grants.get_grant(key, ref)
    grant.expires = day
    grant.save()
