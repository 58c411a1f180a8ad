"""Who is on the other end: the client address, believing ``X-Forwarded-For`` only
from the configured ``trusted_proxies``."""

from __future__ import annotations


def client_ip(environ: dict, trusted_proxies: tuple[str, ...]) -> str | None:
    """The first address, from the right, that is not a trusted proxy."""
    remote = environ.get("REMOTE_ADDR")
    if remote not in trusted_proxies:
        return remote
    forwarded = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if h.strip()]
    for hop in reversed(forwarded):
        if hop not in trusted_proxies:
            return hop
    return remote
