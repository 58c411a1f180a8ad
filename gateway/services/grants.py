"""Grants: give a contact a property, revoke it, print its link, list who has access.

Granting again is how an admin changes a grant: it re-activates a revoked one (same
link), sets or clears the expiry, or changes nothing, and says which (``GrantState``).
Without a new date the expiry is kept; a date in the past is refused, because it
would print a link that is dead already.
"""

from __future__ import annotations

import dataclasses
import datetime

from gateway import urls
from gateway.clock import utc_now
from gateway.config import Config
from gateway.db import database
from gateway.errors import AccessDenied, InvalidInput, NotFound
from gateway.models import AccessEvent, ConsentRecord, Contact, Credential, Grant
from gateway.security import (
    derive_token,
    hash_password,
    hash_token,
    link_secret,
    new_nonce,
    new_password,
)
from gateway.services import durable_medium, listening, outbox
from gateway.services.contacts import get_contact
from gateway.services.grant_rule import grant_is_live
from gateway.services.properties import get_property

LINK_PURPOSE = "link"
PREVIEW_PURPOSE = "preview"


#: What ``grant_access`` did (INTERFACE.md ``grant --json`` "state").
CREATED = "created"
UNCHANGED = "unchanged"
REACTIVATED = "reactivated"
UPDATED = "updated"


class _KeepExpiry:
    def __repr__(self) -> str:
        return "KEEP_EXPIRY"


#: ``grant_access(expires=KEEP_EXPIRY)``: a new grant gets none, an existing one keeps its own.
KEEP_EXPIRY = _KeepExpiry()


@dataclasses.dataclass(frozen=True)
class GrantResult:
    """What ``grant`` prints: the fields of ``grant --json`` in docs/interface.md."""

    property: str
    contact: str
    link: str
    dav_url: str
    username: str
    password: str | None
    expires: datetime.date | None
    state: str = CREATED


def base_url(config: Config) -> str:
    """Where printed links point: the ``base_url`` setting, else the address the running
    ``serve`` of this home listens on, else the configured host and port
    (``gateway.services.listening``)."""
    if config.base_url:
        return config.base_url.rstrip("/")
    running = listening.running_address(config.home)
    if running is not None:
        return running.origin
    scheme = "https" if config.tls_cert else "http"
    return listening.ListenAddress(scheme, config.host, config.port).origin


def agent_dav_url(config: Config) -> str:
    return urls.agent_dav_url(base_url(config))


def contact_dav_url(config: Config) -> str:
    return urls.contact_dav_url(base_url(config))


def link_token(config: Config, grant: Grant) -> str:
    return derive_token(link_secret(config), LINK_PURPOSE, grant.nonce)


def personal_link(config: Config, grant: Grant) -> str:
    return urls.personal_link(base_url(config), link_token(config, grant))


def preview_link(config: Config, key: str) -> str:
    """:raises NotFound: no such property."""
    prop = get_property(key)
    token = derive_token(link_secret(config), PREVIEW_PURPOSE, prop.preview_nonce)
    return urls.preview_link(base_url(config), token)


def parse_date(text: str | None) -> datetime.date | None:
    """Parse ``YYYY-MM-DD``; ``None`` stays ``None``. Raises ValueError on bad input."""
    if text is None:
        return None
    return datetime.date.fromisoformat(text) if len(text) == 10 else _bad_date(text)


def _bad_date(text: str) -> datetime.date:
    raise ValueError(f"invalid date {text!r}: expected YYYY-MM-DD")


def _ensure_credential(contact: Contact) -> tuple[Credential, str | None]:
    credential = Credential.get_or_none(Credential.contact == contact)
    if credential is not None:
        return credential, None
    password = new_password()
    credential = Credential.create(
        contact=contact, username=contact.ref, password_hash=hash_password(password)
    )
    return credential, password


def grant_access(
    config: Config,
    key: str,
    ref: str,
    *,
    expires: datetime.date | None | _KeepExpiry = KEEP_EXPIRY,
) -> GrantResult:
    """Give ``ref`` access to ``key``, or re-activate a revoked grant keeping its link.

    ``expires``: a date (the last day that works), ``None`` for no expiry, or
    ``KEEP_EXPIRY`` to keep what an existing grant has.

    :raises NotFound: property or contact unknown.
    :raises InvalidInput: the new date, or the kept one, is in the past; the property
        asks for consent and the contact has no address for its confirmation.
    """
    today = utc_now().date()
    if isinstance(expires, datetime.date) and expires < today:
        raise InvalidInput(
            f"the expiry date {expires.isoformat()} is in the past — give a later date "
            "or --no-expiry"
        )
    with database.atomic():
        prop = get_property(key)
        contact = get_contact(ref)
        durable_medium.require_address_for_consent(config, prop, contact)
        grant = Grant.get_or_none((Grant.property == prop) & (Grant.contact == contact))
        if grant is None:
            nonce = new_nonce()
            grant = Grant.create(
                property=prop,
                contact=contact,
                nonce=nonce,
                token_hash=hash_token(derive_token(link_secret(config), LINK_PURPOSE, nonce)),
                expires=None if expires is KEEP_EXPIRY else expires,
            )
            state = CREATED
        else:
            state = _regrant(grant, expires, today)
        credential, password = _ensure_credential(contact)
    return GrantResult(
        property=prop.key,
        contact=contact.ref,
        link=personal_link(config, grant),
        dav_url=contact_dav_url(config),
        username=credential.username,
        password=password,
        expires=grant.expires,
        state=state,
    )


def _regrant(grant: Grant, expires, today: datetime.date) -> str:
    """Apply a grant given again to the existing ``grant``; return its state."""
    new_expiry = grant.expires if expires is KEEP_EXPIRY else expires
    if new_expiry is not None and new_expiry < today:
        raise InvalidInput(
            f"the grant of '{grant.contact.ref}' for '{grant.property.key}' expired on "
            f"{new_expiry.isoformat()} — give a new date with --expires YYYY-MM-DD "
            "or --no-expiry"
        )
    if not grant.active:
        state = REACTIVATED
    elif new_expiry != grant.expires:
        state = UPDATED
    else:
        return UNCHANGED
    grant.active = True
    grant.revoked_at = None
    grant.expires = new_expiry
    grant.save()
    return state


def get_grant(key: str, ref: str) -> Grant:
    """:raises NotFound: property, contact or grant unknown."""
    prop = get_property(key)
    contact = get_contact(ref)
    grant = Grant.get_or_none((Grant.property == prop) & (Grant.contact == contact))
    if grant is None:
        raise NotFound(
            f"contact '{ref}' has no grant for property '{key}' — run `immoshare grant {key} {ref}`"
        )
    return grant


def revoke_access(key: str, ref: str) -> Grant:
    """Deactivate the grant; link and WebDAV fail from the next request on.

    :raises NotFound: property, contact or grant unknown.
    """
    with database.atomic():
        grant = get_grant(key, ref)
        grant.active = False
        grant.revoked_at = utc_now()
        grant.save()
    return grant


@dataclasses.dataclass(frozen=True)
class GrantProblem:
    """Why a grant's link and WebDAV login do not work, and the command that helps."""

    code: str  # "revoked" or "expired"
    reason: str
    command: str  # arguments of ``immoshare`` that change it
    effect: str

    def __str__(self) -> str:
        return f"{self.reason} — `immoshare {self.command}` {self.effect}"


def grant_problem(grant: Grant, today: datetime.date | None = None) -> GrantProblem | None:
    """Why ``grant`` is not live (revoked, expired); None when it is."""
    today = today or utc_now().date()
    key, ref = grant.property.key, grant.contact.ref
    if not grant.active:
        when = f" on {grant.revoked_at:%Y-%m-%d}" if grant.revoked_at else ""
        return GrantProblem(
            "revoked",
            f"the grant of '{ref}' for '{key}' was revoked{when}",
            f"grant {key} {ref}",
            "re-activates the same link",
        )
    if grant.expires is not None and grant.expires < today:
        return GrantProblem(
            "expired",
            f"the grant of '{ref}' for '{key}' expired on {grant.expires.isoformat()}",
            f"grant {key} {ref} --expires YYYY-MM-DD",
            "(or --no-expiry) extends it",
        )
    return None


def get_live_grant(key: str, ref: str) -> Grant:
    """The grant of ``ref`` for ``key`` if its link works now.

    :raises NotFound: property, contact or grant unknown.
    :raises AccessDenied: the grant is revoked or expired; the message says which.
    """
    grant = get_grant(key, ref)
    problem = grant_problem(grant)
    if problem is not None:
        raise AccessDenied(str(problem))
    return grant


@dataclasses.dataclass(frozen=True)
class UserRow:
    contact: str
    name: str
    active: bool
    expires: datetime.date | None
    consent_at: datetime.datetime | None
    consent_mail: str | None
    last_access: datetime.datetime | None
    # The state of the newest invitation mail (``grant --send``), or None.
    invitation: str | None = None


def list_users(key: str) -> list[UserRow]:
    """Who has (or had) access to ``key``. :raises NotFound: no such property."""
    prop = get_property(key)
    rows = []
    grants = (
        Grant.select(Grant, Contact)
        .join(Contact)
        .where(Grant.property == prop)
        .order_by(Contact.ref)
    )
    for grant in grants:
        consent = ConsentRecord.get_or_none(ConsentRecord.grant == grant)
        last = (
            AccessEvent.select(AccessEvent.at)
            .where((AccessEvent.property == prop.key) & (AccessEvent.contact == grant.contact.ref))
            .order_by(AccessEvent.id.desc())
            .first()
        )
        invitation = outbox.latest_mail(outbox.INVITATION, grant)
        rows.append(
            UserRow(
                contact=grant.contact.ref,
                name=grant.contact.name,
                active=grant_is_live(grant),
                expires=grant.expires,
                consent_at=consent.at if consent else None,
                consent_mail=consent.mail_state if consent else None,
                last_access=last.at if last else None,
                invitation=invitation.mail_state if invitation else None,
            )
        )
    return rows
