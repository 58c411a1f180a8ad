"""GDPR for contacts: everything stored about one (Art. 15), and erasure (Art. 17).

Erasure removes the contact, its name and e-mail, its WebDAV login, its grants
(their links die) and their consent records. Its tracking events stay as evidence
of what was delivered, but under a random pseudonym, with IP and user agent
removed. The hash chain does not cover those fields directly, only a digest of
them keyed by a random per-contact key (see ``services/tracking``): the erasure
records the pseudonym, deletes the key, and ``tracking verify`` accepts the
pseudonymised rows while every other fact of them stays protected by the chain.
Without the key, the stored digests cannot be linked back to the contact's ref.

**Legal hold.** A consent is the agent's proof for a commission claim, which GDPR
Art. 17 (3)(e) lets them keep. So where the contact consented, erasure keeps that
proof and nothing more until ``evidence_retention_years`` after the end of the year
of the newest consent (:func:`hold_end`): the contact's ref, name and e-mail, its
consented grants (ended, with links that no longer exist) and their consent records
(texts, statements, time, shortened IP, browser, the confirmation mail's Message-ID
and hash), and the consent events under the ref. Everything else goes as above.
The daily clean-up (``services/retention``) erases held evidence once its hold has
ended; ``include_evidence`` erases it at once. The held consent events' digest key is
deleted like any other (a kept key would link the pseudonymised events back), so
``tracking verify`` accepts a held contact's ref as it accepts a pseudonym.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets

from gateway.clock import iso, utc_now
from gateway.db import database, is_postgres
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
from gateway.security import hash_token, new_nonce
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
    """What an erasure did. ``held_until`` is the last day the consent evidence is
    kept, or None when nothing was held back."""

    ref: str
    pseudonym: str
    events: int  # events now under the pseudonym
    grants: int  # grants removed or ended
    held_until: datetime.date | None = None
    consents: int = 0  # consent records held
    held_events: int = 0  # consent events kept under the ref


def hold_end(consented_at: datetime.datetime, years: int) -> datetime.date:
    """The last day a consent given at ``consented_at`` is held: ``years`` after the
    end of its year (GDPR Art. 17 (3)(e): as long as a claim can be raised; the
    regular limitation period, §§ 195 and 199 BGB, runs from the end of the year)."""
    return datetime.date(consented_at.year + years, 12, 31)


def _held_consents(contact: Contact) -> list[ConsentRecord]:
    return list(
        ConsentRecord.select(ConsentRecord, Grant)
        .join(Grant)
        .where(Grant.contact == contact)
        .order_by(ConsentRecord.at)
    )


def erase_contact(
    ref: str, *, retention_years: int, include_evidence: bool = False
) -> ErasureResult:
    """Erase contact ``ref`` (see the module docstring). Where it consented, the
    evidence is held until :func:`hold_end` of its newest consent, unless
    ``include_evidence`` or that day has passed; erasing a held contact again with
    ``include_evidence`` ends the hold.

    :raises NotFound: neither a contact nor events with that ref.
    """
    today = utc_now().date()
    with chain_transaction():
        contact = Contact.get_or_none(Contact.ref == ref)
        has_events = AccessEvent.select().where(AccessEvent.contact == ref).exists()
        if contact is None and not has_events:
            raise NotFound(f"contact '{ref}' not found — see `immoshare contact list`")
        consents = _held_consents(contact) if contact is not None else []
        held_until = None
        if consents and not include_evidence:
            held_until = hold_end(consents[-1].at, retention_years)
            if contact.held_until is not None:  # erased again: the hold never shrinks
                held_until = max(held_until, contact.held_until)
            if held_until < today:
                held_until = None
        if held_until is None:
            result = _erase_all(ref, contact)
        else:
            result = _erase_but_hold(contact, consents, held_until)
    _drop_old_page_copies()
    return result


def _drop_old_page_copies() -> None:
    """SQLite keeps copies of changed pages in its write-ahead log until a checkpoint;
    copy them into the file (where ``secure_delete`` has zeroed erased rows) and empty
    the log, so the erased data is gone from disk. Best effort: a reader in the middle
    of a long query makes it wait for the next erasure or checkpoint."""
    if not is_postgres():
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _pseudonymise_events(ref: str, *, keep_consents: bool) -> tuple[str, int]:
    """Replace ``ref`` in its events by a new pseudonym (IP and browser removed),
    except the consent events where ``keep_consents``; forget its digest key."""
    pseudonym = "erased-" + secrets.token_hex(8)
    query = AccessEvent.contact == ref
    if keep_consents:
        query &= AccessEvent.action != "consent"
    events = AccessEvent.update(contact=pseudonym, ip=None, user_agent=None).where(query).execute()
    Erasure.create(pseudonym=pseudonym, events=events)
    first_open.pseudonymise(ref, pseudonym)
    SubjectKey.delete().where(SubjectKey.ref == ref).execute()
    return pseudonym, events


def _erase_all(ref: str, contact: Contact | None) -> ErasureResult:
    pseudonym, events = _pseudonymise_events(ref, keep_consents=False)
    grants = 0
    if contact is not None:
        grants = Grant.select().where(Grant.contact == contact).count()
        contact.delete_instance(recursive=True)
    return ErasureResult(ref=ref, pseudonym=pseudonym, events=events, grants=grants)


def _erase_but_hold(
    contact: Contact, consents: list[ConsentRecord], held_until: datetime.date
) -> ErasureResult:
    """Keep the ref, name, e-mail, the consented grants (ended, their links replaced
    by random ones) with their records, and the consent events; erase the rest."""
    ref = contact.ref
    pseudonym, events = _pseudonymise_events(ref, keep_consents=True)
    held_events = (
        AccessEvent.select()
        .where((AccessEvent.contact == ref) & (AccessEvent.action == "consent"))
        .count()
    )
    consented = [c.grant_id for c in consents]
    grants = Grant.select().where(Grant.contact == contact).count()
    unconsented = Grant.select().where((Grant.contact == contact) & Grant.id.not_in(consented))
    for grant in unconsented:
        grant.delete_instance(recursive=True)  # with whatever refers to it
    for field, model in Grant._meta.backrefs.items():
        if model is not ConsentRecord:  # whatever else hangs on a kept grant is not proof
            model.delete().where(field.in_(consented)).execute()
    now = utc_now()
    for grant in Grant.select().where(Grant.id.in_(consented)):
        grant.active = False
        grant.revoked_at = grant.revoked_at or now
        grant.nonce = new_nonce()  # the printed link dies for good
        grant.token_hash = hash_token(new_nonce())
        grant.save()
    Credential.delete().where(Credential.contact == contact).execute()
    contact.erased_at = contact.erased_at or now
    contact.held_until = held_until
    contact.save()
    return ErasureResult(
        ref=ref,
        pseudonym=pseudonym,
        events=events,
        grants=grants,
        held_until=held_until,
        consents=len(consents),
        held_events=held_events,
    )


def held_contacts() -> list[Contact]:
    """Erased contacts whose consent evidence is held, soonest release first."""
    return list(
        Contact.select().where(Contact.held_until.is_null(False)).order_by(Contact.held_until)
    )


def release_expired_holds(today: datetime.date | None = None) -> list[ErasureResult]:
    """Erase the held evidence of every contact whose hold ended before ``today``."""
    today = today or utc_now().date()
    expired = (
        Contact.select(Contact.ref)
        .where(Contact.held_until.is_null(False) & (Contact.held_until < today))
        .order_by(Contact.held_until)
    )
    return [erase_contact(c.ref, retention_years=0, include_evidence=True) for c in expired]
