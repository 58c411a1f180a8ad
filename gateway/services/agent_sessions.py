"""Agents' dashboard logins: the same credentials as the agent's WebDAV login, kept
as a server-side session behind a random cookie token.

The token is 256 random bits from :mod:`secrets`; only its SHA-256 is stored, so a
copy of the database opens no session. A session ends on logout, after
:data:`IDLE` without a request, :data:`ABSOLUTE` after login whatever happens, when
the agent is removed (the row goes with the agent) and when the agent's password
changes (``password_mark`` no longer matches).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import re
import secrets

from gateway.clock import utc_now
from gateway.db import database
from gateway.models import Agent, AgentSession
from gateway.security import TOKEN_BYTES, hash_token
from gateway.services.access import authenticate_agent
from gateway.services.agents import MAX_PASSWORD_LENGTH

#: A session ends after this long without a request ...
IDLE = datetime.timedelta(hours=2)
#: ... and this long after its login in any case.
ABSOLUTE = datetime.timedelta(hours=12)
#: ``seen_at`` is written at most this often per session (one write per page is waste).
TOUCH_EVERY = datetime.timedelta(minutes=1)
#: Longest agent name the form takes (``AGENT_NAME`` allows 64).
MAX_NAME_LENGTH = 64
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclasses.dataclass(frozen=True)
class AgentLogin:
    """A live session: whose it is and its cookie token (for the CSRF token)."""

    agent: str
    token: str


def password_mark(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()


def log_in(name: str, password: str) -> AgentLogin | None:
    """A new session for the agent, or None for wrong or unreadable credentials
    (the caller counts it against the client's failed logins, as WebDAV does).
    Unknown and known names cost the same argon2 time (``authenticate_agent``)."""
    if (
        not name
        or len(name) > MAX_NAME_LENGTH
        or len(password) > MAX_PASSWORD_LENGTH
        or _CONTROL.search(name + password)
    ):
        return None
    principal = authenticate_agent(name, password)
    if principal is None:
        return None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with database.atomic():
        purge_expired()  # sessions nobody comes back to go here, not in a worker
        agent = Agent.get_or_none(Agent.name == principal.name)
        if agent is None:  # removed between the check and now
            return None
        AgentSession.create(
            token_hash=hash_token(token),
            agent=agent,
            password_mark=password_mark(agent.password_hash),
        )
    return AgentLogin(agent.name, token)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def current_login(token: str | None) -> AgentLogin | None:
    """The live session behind a cookie token, or None (no such session, expired,
    agent removed or password changed; such a row is deleted on the way)."""
    if not token or not _TOKEN.fullmatch(token):
        return None
    row = (
        AgentSession.select(AgentSession, Agent)
        .join(Agent)
        .where(AgentSession.token_hash == hash_token(token))
        .first()
    )
    if row is None:
        return None
    now = utc_now()
    if (
        now - _aware(row.created_at) > ABSOLUTE
        or now - _aware(row.seen_at) > IDLE
        or row.password_mark != password_mark(row.agent.password_hash)
    ):
        row.delete_instance()
        return None
    if now - _aware(row.seen_at) > TOUCH_EVERY:
        AgentSession.update(seen_at=now).where(AgentSession.id == row.id).execute()
    return AgentLogin(row.agent.name, token)


def log_out(token: str | None) -> None:
    if token and _TOKEN.fullmatch(token):
        AgentSession.delete().where(AgentSession.token_hash == hash_token(token)).execute()


def purge_expired() -> int:
    """Delete sessions past either limit; the number deleted."""
    now = utc_now()
    return (
        AgentSession.delete()
        .where((AgentSession.created_at < now - ABSOLUTE) | (AgentSession.seen_at < now - IDLE))
        .execute()
    )
