"""Tokens, password hashing, constant-time checks, Basic credentials and IP shortening.

Link tokens are HMACs of a random per-grant nonce under a key kept outside the
database (``secret.key`` in the home or the ``secret_key`` setting): the link can be
printed again at any time, yet a copy of the database alone reveals no live link.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import threading
import time
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.errors import MalformedCredentials

SECRET_FILE = "secret.key"
TOKEN_BYTES = 32  # 256 bits

# argon2id with the library's RFC 9106 "low memory" profile: 64 MiB, 3 passes.
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user name is unknown, so that unknown and
    known names cost the same time. Made on first use: hashing at import would slow
    every CLI command by a tenth of a second."""
    return _hasher.hash(secrets.token_urlsafe(16))


def new_nonce() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def new_password() -> str:
    """A password people can type from a printed letter: 4 groups of 5 characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def new_api_key() -> str:
    return "imk_" + secrets.token_urlsafe(TOKEN_BYTES)


def load_or_create_secret(home: Path, configured: str | None = None) -> bytes:
    """The key that derives link tokens: the setting if given, else ``secret.key``."""
    if configured:
        return configured.encode()
    path = home / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def link_secret(config) -> bytes:
    """The link key of ``config``'s home (see :func:`load_or_create_secret`)."""
    return load_or_create_secret(config.home, config.secret_key)


def derive_token(secret: bytes, purpose: str, nonce: str) -> str:
    """The URL token for ``nonce``: 256 bits, URL-safe, without padding."""
    mac = hmac.new(secret, f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    """The stored form of a token or API key (they carry 256 bits; no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


#: Longest Basic token read (base64 of "user:password"): far above any real login,
#: far below what would cost anything to decode.
MAX_BASIC_TOKEN_CHARS = 4096
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """User and password of an ``Authorization: Basic`` value (RFC 7617); the one
    reader of Basic credentials, for every path that takes them.

    None when there are no Basic credentials to check (no value, another scheme,
    ``Basic`` without a token): the caller asks for them. The decoded bytes are
    UTF-8, or else Windows-1252 as Windows sends them. Nothing of the value ever
    goes into a message.

    :raises MalformedCredentials: a token longer than :data:`MAX_BASIC_TOKEN_CHARS`,
        not base64, without a colon, or with control characters (RFC 7617 §2).
    """
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "basic" or not token:
        return None
    if len(token) > MAX_BASIC_TOKEN_CHARS or not _BASE64.fullmatch(token):
        raise MalformedCredentials("the Basic credentials are not base64")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except ValueError:
        raise MalformedCredentials("the Basic credentials are not base64") from None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("cp1252", errors="replace")
    user, colon, password = decoded.partition(":")
    if not colon:
        raise MalformedCredentials("the Basic credentials have no colon")
    if _CONTROL.search(decoded):
        raise MalformedCredentials("the Basic credentials contain control characters")
    return user, password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check ``password`` against ``stored_hash`` (None: burn the same time, fail)."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class VerificationCache:
    """Remembers successful password checks briefly, keyed by a keyed hash.

    A file manager sends dozens of requests per folder view, each with Basic
    credentials; re-running argon2 for each would dominate serving. The key
    includes the stored hash, so a password change misses the cache at once.

    argon2 costs 64 MiB and about 0.2 s of a core. Requests that miss the cache with
    the same credentials wait for one check instead of each running their own: 200
    downloads that start together when the entry has just expired would otherwise run
    200 checks at once (12 GiB, half a minute on two cores, every download waiting).
    At most ``max_running`` checks run at a time, whatever the credentials.
    """

    def __init__(self, ttl_seconds: float = 300.0, max_entries: int = 10000, max_running: int = 4):
        self._key = secrets.token_bytes(32)
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[bytes, float] = {}
        self._checks: dict[bytes, threading.Lock] = {}  # one running check per key
        self._running = threading.BoundedSemaphore(max_running)
        self._lock = threading.Lock()

    def _fingerprint(self, user: str, password: str, stored_hash: str) -> bytes:
        message = "\0".join((user, password, stored_hash)).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verify(self, user: str, password: str, stored_hash: str | None) -> bool:
        if stored_hash is None:
            with self._running:
                return verify_password(None, password)
        key = self._fingerprint(user, password, stored_hash)
        if self._fresh(key):
            return True
        with self._lock:
            check = self._checks.setdefault(key, threading.Lock())
        try:
            with check:  # another request may be checking these credentials: wait for it
                if self._fresh(key):
                    return True
                with self._running:
                    if not verify_password(stored_hash, password):
                        return False
                self._remember(key)
                return True
        finally:
            with self._lock:
                if self._checks.get(key) is check and not check.locked():
                    del self._checks[key]

    def _fresh(self, key: bytes) -> bool:
        return self._entries.get(key, 0.0) > time.monotonic()

    def _remember(self, key: bytes) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries = {k: t for k, t in self._entries.items() if t > now}
                if len(self._entries) >= self._max:
                    self._entries.clear()
            self._entries[key] = now + self._ttl


#: The longest user agent stored; longer ones are cut (``AccessEvent.user_agent`` and
#: ``ConsentRecord.user_agent`` hold as much).
USER_AGENT_LIMIT = 512


def cut_user_agent(user_agent: str | None) -> str | None:
    """The user agent as stored: at most :data:`USER_AGENT_LIMIT` characters, None
    when there is none."""
    return user_agent[:USER_AGENT_LIMIT] if user_agent else None


@functools.lru_cache(maxsize=4096)
def shorten_ip(ip: str | None, mode: str) -> str | None:
    """Apply the ``ip_privacy`` setting: ``shorten`` (IPv4 /24, IPv6 /48), ``full``, ``drop``.
    Cached: every tracked request asks it, and ``ipaddress`` is slow."""
    if not ip or mode == "drop":
        return None
    if mode == "full":
        return ip
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(network.network_address)
