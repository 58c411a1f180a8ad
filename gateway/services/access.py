"""Who is asking and what they may see: the one check that web and WebDAV share.

Revocation, expiry and consent take effect at once, on every process. The password
verification is cached (``VerificationCache``), and the answers of the per-request
queries are reused until any process commits a change to the access tables: on
SQLite the stamp next to the database file says so (``gateway.access_stamp``), on
PostgreSQL a notice every process listens for (``gateway.access_notify``).
"""

from __future__ import annotations

import dataclasses
import time

import peewee

from gateway.clock import utc_now
from gateway.db import database
from gateway.errors import AccessDenied, NotFound
from gateway.models import Agent, ConsentRecord, Contact, Credential, Grant, Property
from gateway.security import VerificationCache, hash_token
from gateway.services.grant_rule import (
    consent_satisfied_sql,
    grant_is_live,
    grant_opens,
    grant_opens_sql,
    live_sql,
)

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
    row = _fetch_one("agent", name)
    stored = row[1] if row else None
    if not _verified.verify("agent\0" + name, password, stored):
        return None
    return Principal("agent", row[0])


def authenticate_contact(username: str, password: str) -> Principal | None:
    row = _fetch_one("credential", username)
    stored = row[0] if row else None
    if not _verified.verify("contact\0" + username, password, stored):
        return None
    return Principal("contact", row[1], row[2])


def authenticate_for_property(
    kind: str, user: str, password: str, key: str
) -> tuple[Principal | None, bool]:
    """:func:`authenticate_agent` or :func:`authenticate_contact` (``kind``), and
    whether ``key`` is among the principal's :func:`visible_property_keys`, in one
    query: the WebDAV lean paths ask both on every request, and each query lets go
    of the GIL once more."""
    if kind == "agent":
        row = _fetch_one("agent_property", key, 1, user, reuse=True)
        stored = row[1] if row else None
        if not _verified.verify("agent\0" + user, password, stored):
            return None, False
        return Principal("agent", row[0]), bool(row[2])
    row = _fetch_one("credential_visible", key, True, utc_now().date(), False, 1, user, reuse=True)
    stored = row[0] if row else None
    if not _verified.verify("contact\0" + user, password, stored):
        return None, False
    return Principal("contact", row[1], row[2]), bool(row[3])


def _consented_grant_ids(grants: list[Grant]) -> set[int]:
    ids = [g.id for g in grants]
    if not ids:
        return set()
    return {
        r.grant_id
        for r in ConsentRecord.select(ConsentRecord.grant).where(ConsentRecord.grant.in_(ids))
    }


def visible_property_keys(principal: Principal) -> set[str]:
    """Keys the principal may see now: all for agents; for contacts, live grants
    whose property needs no consent or has it."""
    if principal.is_agent:
        return {p.key for p in Property.select(Property.key)}
    today = utc_now().date()
    grants = list(
        Grant.select(Grant, Property)
        .join(Property)
        .where((Grant.contact == principal.contact_id) & (Grant.active == True))
    )  # noqa: E712
    consented = _consented_grant_ids([g for g in grants if g.property.requires_consent])
    return {g.property.key for g in grants if grant_opens(g, g.id in consented, today)}


# -- the queries of every WebDAV request, as SQL text built once per database --------
#
# peewee builds a query's SQL anew on each execution, which costs ten times more than
# running it on SQLite (about 0.25 ms against 6 µs). These run on every request, so
# their text is made once (per database, for its dialect) and only executed after.


def _query(name: str):
    """The peewee query ``name``; its parameters in order are those ``_fetch_one`` gets."""
    if name == "agent":
        return Agent.select(Agent.name, Agent.password_hash).where(Agent.name == "")
    if name == "credential":
        return (
            Credential.select(Credential.password_hash, Contact.ref, Contact.id)
            .join(Contact)
            .where(Credential.username == "")
        )
    if name == "property":
        return Property.select(Property.id).where(Property.key == "").limit(1)
    if name == "agent_property":
        return Agent.select(
            Agent.name, Agent.password_hash, peewee.fn.EXISTS(_query("property"))
        ).where(Agent.name == "")
    if name == "credential_visible":
        return (
            Credential.select(
                Credential.password_hash,
                Contact.ref,
                Contact.id,
                peewee.fn.EXISTS(_visible_grant(Contact.id)),
            )
            .join(Contact)
            .where(Credential.username == "")
        )
    if name == "link":
        return (
            Grant.select(
                Property.key,
                Contact.ref,
                live_sql(utc_now().date()),
                ~consent_satisfied_sql(),
            )
            .join(Property)
            .switch(Grant)
            .join(Contact)
            .where(Grant.token_hash == "")
        )
    raise KeyError(name)


def _visible_grant(contact):
    """A live grant of ``contact`` to the property, with consent where it needs one."""
    return (
        Grant.select(Grant.id)
        .join(Property)
        .where(
            (Grant.contact == contact) & (Property.key == "") & grant_opens_sql(utc_now().date())
        )
        .limit(1)
    )


_sql_texts: dict[tuple, tuple[str, int]] = {}

#: How long an answer is reused at most, even with the access stamp unchanged: the
#: backstop for a change the stamp cannot see (a process killed between its commit
#: and its stamp, a hand edit of the database file).
REUSE_SECONDS = 1.0
#: Answers kept per database; all are dropped when it is full.
REUSE_LIMIT = 20_000


def _fetch_one(name: str, *params, reuse: bool = False) -> tuple | None:
    """The first row of query ``name``. With ``reuse``, an answer from the last
    :data:`REUSE_SECONDS` is given again while the database's access stamp
    (``gateway.access_stamp``, ``gateway.access_notify``) is unchanged: no change
    to who may see what has been committed since. A stamp that reads ``None`` (no
    notices heard on PostgreSQL) reuses nothing."""
    db = database.obj
    stamp = getattr(db, "access_stamp", None) if reuse else None
    seen = None if stamp is None else stamp.current()  # before the query: a change
    if seen is None:  # committed after it re-asks
        return _query_one(db, name, params)
    answers = db.access_answers
    now = time.monotonic()
    kept = answers.get((name, params))
    if kept is not None and kept[0] == seen and kept[1] > now:
        return kept[2]
    row = _query_one(db, name, params)
    if len(answers) >= REUSE_LIMIT:
        answers.clear()
    answers[(name, params)] = (seen, now + REUSE_SECONDS, row)
    return row


def _query_one(db, name: str, params: tuple) -> tuple | None:
    key = (name, id(db), type(db))
    compiled = _sql_texts.get(key)
    if compiled is None:
        sql, template = _query(name).sql()
        compiled = _sql_texts[key] = (sql, len(template))
    sql, count = compiled
    if count != len(params):
        raise TypeError(f"query {name} takes {count} parameters, not {len(params)}")
    return db.execute_sql(sql, params).fetchone()


@dataclasses.dataclass(frozen=True)
class LinkState:
    """What a personal link's file URLs need to know, from one query."""

    property_key: str
    contact_ref: str
    live: bool  # active and not expired
    needs_consent: bool  # the property asks for consent and it has not been given


def link_state(token: str) -> LinkState | None:
    """The state of the grant behind ``token`` (None: no such link) in one query
    whose SQL is built once: the contact page's file URLs ask it on every request,
    where :func:`resolve_link` builds and loads three models."""
    row = _fetch_one("link", True, utc_now().date(), False, hash_token(token), reuse=True)
    if row is None:
        return None
    return LinkState(row[0], row[1], bool(row[2]), bool(row[3]))


def link_is_live(token: str) -> bool:
    """Asked while a contact's file or zip streams: a revoke or expiry cuts it."""
    state = link_state(token)
    return state is not None and state.live


def resolve_link(token: str) -> Grant:
    """The live grant behind a personal link token.

    :raises NotFound: no grant has this token.
    :raises AccessDenied: the grant is revoked or expired (``args[1]`` is the grant).
    """
    grant = (
        Grant.select(Grant, Property, Contact)
        .join(Property)
        .switch(Grant)
        .join(Contact)
        .where(Grant.token_hash == hash_token(token))
        .first()
    )
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


def property_titles(keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    return {
        p.key: p.title
        for p in Property.select(Property.key, Property.title).where(Property.key.in_(list(keys)))
    }
