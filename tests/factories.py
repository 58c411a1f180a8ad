"""Plain functions that create domain objects with sensible defaults."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from gateway.services import agents, consent, contacts, grants, properties

AGENT_PASSWORD = "agent-secret-pw"

#: A complete Widerrufsbelehrung (no sample placeholders), as an agency sets it.
WIDERRUF_TEXT = (
    "Widerrufsbelehrung der Muster Immobilien GmbH\n\n"
    "Widerrufsrecht\n\n"
    "Sie haben das Recht, binnen vierzehn Tagen ohne Angabe von Gründen diesen Vertrag "
    "zu widerrufen. Um Ihr Widerrufsrecht auszuüben, müssen Sie uns (Muster Immobilien "
    "GmbH, Musterstraße 1, 90402 Nürnberg, 0911 123456, widerruf@muster-immobilien.de) "
    "mittels einer eindeutigen Erklärung informieren.\n\n"
    "Folgen des Widerrufs\n\n"
    "Wenn Sie diesen Vertrag widerrufen, haben wir Ihnen alle Zahlungen, die wir von "
    "Ihnen erhalten haben, unverzüglich zurückzuzahlen.\n\n"
    "Muster-Widerrufsformular\n\n"
    "An Muster Immobilien GmbH, Musterstraße 1, 90402 Nürnberg: Hiermit widerrufe(n) "
    "ich/wir (*) den Vertrag über die Maklertätigkeit für das Objekt ____________"
)
AGB_TEXT = "Allgemeine Geschäftsbedingungen der Muster Immobilien GmbH\n\n1. Provision."


def make_agent(name: str = "anna", password: str = AGENT_PASSWORD):
    agent, _ = agents.add_agent(name, password)
    return agent


def make_consent_texts(*, agb: bool = False):
    """Complete consent texts, as a home needs before it grants a property that asks
    for consent; set once (an existing complete Widerruf text is kept)."""
    if consent.text_problems():
        consent.add_text(consent.WIDERRUF, WIDERRUF_TEXT)
    if agb:
        consent.add_text(consent.AGB, AGB_TEXT)
    return consent.current_texts()


def make_property(
    config,
    key: str = "obj-1",
    title: str = "Musterstraße 5",
    *,
    requires_consent: bool = False,
    files: dict[str, bytes] | None = None,
):
    """A property with ``files``; one that asks for consent gets complete consent
    texts too (:func:`make_consent_texts`), or no grant could be made for it."""
    if requires_consent:
        make_consent_texts()
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
