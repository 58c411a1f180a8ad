"""GDPR for contacts: everything stored about one (Art. 15), and erasure (Art. 17).

Erasure removes the contact, its name and e-mail, its WebDAV login, its grants
(their links die) and their consent records. Its tracking events stay as evidence
of what was delivered, but under a random pseudonym, with IP and user agent
removed. The hash chain does not cover those fields directly, only a digest of
them keyed by a random per-contact key (see ``services/tracking``): the erasure
records the pseudonym, deletes the key, and ``tracking verify`` accepts the
pseudonymised rows while every other fact of them stays protected by the chain.
Without the key, the stored digests cannot be linked back to the contact's ref.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets

from gateway.clock import iso
from gateway.errors import NotFound
from gateway.models import (
    AccessEvent,
    ConsentRecord,
    Contact,
    Credential,
    Erasure,
    Grant,
    Property,
    SubjectKey,
)
from gateway.services import first_open
from gateway.services.tracking import chain_transaction, public_event


def _plain(value):
    if isinstance(value, datetime.datetime):
        return iso(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _model_data(row, *, skip: tuple[str, ...] = ()) -> dict:
    return {
        name: _plain(value)
        for name, value in row.__data__.items()
        if name != "id" and name not in skip
    }


def export_contact(ref: str) -> dict:
    """Everything stored about contact ``ref``: the record, WebDAV login (without the
    password hash), grants with consents, and every tracking event. For an unknown
    or erased ref, everything is empty."""
    contact = Contact.get_or_none(Contact.ref == ref)
    grants, credential = [], None
    if contact is not None:
        credential = Credential.get_or_none(Credential.contact == contact)
        for grant in (
            Grant.select(Grant, Property)
            .join(Property)
            .where(Grant.contact == contact)
            .order_by(Property.key)
        ):
            consents = [
                _model_data(c, skip=("grant",))
                for c in ConsentRecord.select().where(ConsentRecord.grant == grant)
            ]
            grants.append(
                {
                    "property": grant.property.key,
                    "title": grant.property.title,
                    **_model_data(grant, skip=("property", "contact", "nonce", "token_hash")),
                    "consents": consents,
                }
            )
    events = [
        public_event(e)
        for e in AccessEvent.select().where(AccessEvent.contact == ref).order_by(AccessEvent.id)
    ]
    return {
        "ref": ref,
        "contact": _model_data(contact) if contact else None,
        "webdav_login": (
            {"username": credential.username, "created_at": iso(credential.created_at)}
            if credential
            else None
        ),
        "grants": grants,
        "events": events,
    }


@dataclasses.dataclass(frozen=True)
class ErasureResult:
    ref: str
    pseudonym: str
    events: int
    grants: int


def erase_contact(ref: str) -> ErasureResult:
    """Erase contact ``ref`` (see the module docstring).

    :raises NotFound: neither a contact nor events with that ref.
    """
    with chain_transaction():
        contact = Contact.get_or_none(Contact.ref == ref)
        has_events = AccessEvent.select().where(AccessEvent.contact == ref).exists()
        if contact is None and not has_events:
            raise NotFound(f"contact '{ref}' not found — see `immoshare contact list`")
        pseudonym = "erased-" + secrets.token_hex(8)
        events = (
            AccessEvent.update(contact=pseudonym, ip=None, user_agent=None)
            .where(AccessEvent.contact == ref)
            .execute()
        )
        Erasure.create(pseudonym=pseudonym, events=events)
        first_open.pseudonymise(ref, pseudonym)
        SubjectKey.delete().where(SubjectKey.ref == ref).execute()
        grants = 0
        if contact is not None:
            grants = Grant.select().where(Grant.contact == contact).count()
            contact.delete_instance(recursive=True)
    return ErasureResult(ref=ref, pseudonym=pseudonym, events=events, grants=grants)
