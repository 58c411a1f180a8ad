"""Bearer keys for ``/api/v1``: created with a name and a scope, shown once, stored
as a hash, revocable.

A ``read`` key (the default) pulls events and reads properties and who has access;
a ``write`` key may also provision (create and change properties, contacts, grants).

A key carries 256 random bits, so its sha256 is the stored form and the lookup
key; a wrong key, a revoked key and a key that never existed all answer the same.
"""

from __future__ import annotations

import logging
import re

import peewee

from gateway.clock import utc_now
from gateway.db import database
from gateway.errors import AccessDenied, AlreadyExists, InvalidInput, NotFound
from gateway.models import ApiKey
from gateway.security import hash_token, new_api_key, same

log = logging.getLogger("immoshare")

KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Keys are 47 characters; anything much longer is not one and is not even hashed.
MAX_KEY_CHARS = 256
_NO_KEY_HASH = hash_token("no such key")

READ = "read"
WRITE = "write"
#: Each scope and the scopes it includes.
SCOPES = {READ: {READ}, WRITE: {READ, WRITE}}


def validate_scope(scope: str) -> str:
    """:raises InvalidInput: not one of ``read``, ``write``."""
    if scope not in SCOPES:
        raise InvalidInput(f"invalid scope {scope[:20]!r}: 'read' or 'write'")
    return scope


def create_key(name: str, scope: str = READ) -> tuple[ApiKey, str]:
    """A new key named ``name`` with ``scope``; returns the row and the key (shown only now).

    :raises InvalidInput: bad name or scope. :raises AlreadyExists: the name is taken.
    """
    if not KEY_NAME.match(name):
        raise InvalidInput(f"invalid key name {name!r}: letters, digits, '.', '_', '-', up to 64")
    validate_scope(scope)
    key = new_api_key()
    with database.atomic():
        if ApiKey.get_or_none(ApiKey.name == name) is not None:
            raise AlreadyExists(
                f"an API key named '{name}' exists already (revoked keys keep "
                "their name) — see `immoshare apikey list`"
            )
        row = ApiKey.create(name=name, key_hash=hash_token(key), scope=scope)
    return row, key


def list_keys() -> list[ApiKey]:
    return list(ApiKey.select().order_by(ApiKey.name))


def revoke_key(name: str) -> ApiKey:
    """Revoke the key; it fails from the next request on.

    :raises NotFound: no key of that name.
    """
    with database.atomic():
        row = ApiKey.get_or_none(ApiKey.name == name)
        if row is None:
            raise NotFound(f"no API key named '{name}' — see `immoshare apikey list`")
        if row.revoked_at is None:
            row.revoked_at = utc_now()
            row.save()
    return row


def authenticate(authorization: str | None) -> ApiKey | None:
    """The live key of an ``Authorization: Bearer KEY`` header, or None (also for
    any other scheme and for values no key can have)."""
    scheme, _, key = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip() or len(key) > MAX_KEY_CHARS:
        return None
    digest = hash_token(key.strip())
    row = ApiKey.get_or_none(ApiKey.key_hash == digest)
    matches = same(row.key_hash if row else _NO_KEY_HASH, digest)
    if row is None or not matches or row.revoked_at is not None:
        return None
    return row


def require_scope(key: ApiKey, scope: str) -> None:
    """:raises AccessDenied: ``key`` does not include ``scope`` (a read key asked to write)."""
    if scope not in SCOPES.get(key.scope, set()):
        raise AccessDenied(
            f"the API key '{key.name}' may only {key.scope}; this needs a {scope} key "
            f"(`immoshare apikey create NAME --scope {scope}`)"
        )


def record_pull(key: ApiKey, cursor: int) -> None:
    """Remember that ``key`` asked for the events after ``cursor``, and when. Only
    bookkeeping: a database too busy to take it must not fail the CRM's pull."""
    try:
        with database.atomic():
            (
                ApiKey.update(last_cursor=cursor, last_pull_at=utc_now())
                .where(ApiKey.id == key.id)
                .execute()
            )
    except peewee.OperationalError:
        log.warning("could not record the pull of API key %r", key.name, exc_info=True)
