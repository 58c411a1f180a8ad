"""Who is asking and what they may see: the one check that web and WebDAV share.

Grant state is read on every request, so revocation, expiry and consent take effect
at once; only the slow password verification is cached (see ``VerificationCache``).
"""

from __future__ import annotations

import dataclasses

from gateway.clock import utc_now
from gateway.errors import AccessDenied, NotFound
from gateway.models import Agent, ConsentRecord, Contact, Credential, Grant, Property
from gateway.security import VerificationCache, hash_token
from gateway.services.grants import grant_is_live

_verified = VerificationCache()


@dataclasses.dataclass(frozen=True)
class Principal:
    """An authenticated WebDAV user: an agent (read-write) or a contact (read-only)."""

    kind: str  # "agent" or "contact"
    name: str  # agent name or contact ref
    contact_id: int | None = None

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"


def authenticate_agent(name: str, password: str) -> Principal | None:
    agent = Agent.get_or_none(Agent.name == name)
    if not _verified.verify("agent\0" + name, password, agent.password_hash if agent else None):
        return None
    return Principal("agent", agent.name)


def authenticate_contact(username: str, password: str) -> Principal | None:
    credential = (Credential.select(Credential, Contact).join(Contact)
                  .where(Credential.username == username).first())
    stored = credential.password_hash if credential else None
    if not _verified.verify("contact\0" + username, password, stored):
        return None
    return Principal("contact", credential.contact.ref, credential.contact.id)


def _consented_grant_ids(grants: list[Grant]) -> set[int]:
    ids = [g.id for g in grants]
    if not ids:
        return set()
    return {r.grant_id for r in ConsentRecord.select(ConsentRecord.grant)
            .where(ConsentRecord.grant.in_(ids))}


def visible_property_keys(principal: Principal) -> set[str]:
    """Keys the principal may see now: all for agents; for contacts, live grants
    whose property needs no consent or has it."""
    if principal.is_agent:
        return {p.key for p in Property.select(Property.key)}
    today = utc_now().date()
    grants = list(Grant.select(Grant, Property).join(Property)
                  .where((Grant.contact == principal.contact_id) & (Grant.active == True)))  # noqa: E712
    live = [g for g in grants if grant_is_live(g, today)]
    consented = _consented_grant_ids([g for g in live if g.property.requires_consent])
    return {g.property.key for g in live
            if not g.property.requires_consent or g.id in consented}


def resolve_link(token: str) -> Grant:
    """The live grant behind a personal link token.

    :raises NotFound: no grant has this token.
    :raises AccessDenied: the grant is revoked or expired (``args[1]`` is the grant).
    """
    grant = (Grant.select(Grant, Property, Contact).join(Property).switch(Grant).join(Contact)
             .where(Grant.token_hash == hash_token(token)).first())
    if grant is None:
        raise NotFound("unknown link")
    if not grant_is_live(grant):
        raise AccessDenied("link no longer valid", grant)
    return grant


def resolve_preview(token: str) -> Property:
    """:raises NotFound: no property has this preview token."""
    prop = Property.get_or_none(Property.preview_token_hash == hash_token(token))
    if prop is None:
        raise NotFound("unknown preview link")
    return prop


def has_consent(grant: Grant) -> bool:
    return ConsentRecord.select().where(ConsentRecord.grant == grant).exists()


def property_titles(keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    return {p.key: p.title for p in Property.select(Property.key, Property.title)
            .where(Property.key.in_(list(keys)))}
