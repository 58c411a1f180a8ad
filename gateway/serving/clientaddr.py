"""Who is really asking: the client address and scheme behind trusted reverse proxies.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only when the connection
comes from an address listed in the ``trusted_proxies`` setting; anyone else could
write them to dodge rate limits or forge tracking records. Pure functions over the
WSGI environ dict, no framework.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Where the connection's own address and scheme are kept once rewritten.
PEER_ADDR_KEY = "immoshare.peer_addr"
PEER_SCHEME_KEY = "immoshare.peer_scheme"


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``trusted_proxies`` entries (addresses or CIDR networks) as networks.

    :raises ValueError: an entry is neither.
    """
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in trusted)


def client_address(environ: dict, trusted: tuple[Network, ...]) -> str:
    """The first address, from the right, of ``X-Forwarded-For`` that is not a trusted
    proxy, if the peer is one; otherwise the peer itself."""
    peer = environ.get("REMOTE_ADDR", "")
    if not trusted or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        parsed = _address(hop)
        if parsed is None:
            return peer  # garbage in the chain: believe nothing beyond the proxy
        if not any(parsed in network for network in trusted):
            return str(parsed)
    return str(_address(hops[0])) if hops else peer


def client_scheme(environ: dict, trusted: tuple[Network, ...]) -> str:
    """``X-Forwarded-Proto`` from a trusted peer (its first value), else the own scheme."""
    scheme = environ.get("wsgi.url_scheme", "http")
    if not trusted or not is_trusted(environ.get("REMOTE_ADDR", ""), trusted):
        return scheme
    forwarded = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
    return forwarded if forwarded in ("http", "https") else scheme


def apply_forwarded(environ: dict, trusted: tuple[Network, ...]) -> None:
    """Rewrite ``REMOTE_ADDR`` and ``wsgi.url_scheme`` to the real client's, keeping the
    connection's own values under :data:`PEER_ADDR_KEY` and :data:`PEER_SCHEME_KEY`."""
    address, scheme = client_address(environ, trusted), client_scheme(environ, trusted)
    environ[PEER_ADDR_KEY] = environ.get("REMOTE_ADDR", "")
    environ[PEER_SCHEME_KEY] = environ.get("wsgi.url_scheme", "http")
    environ["REMOTE_ADDR"], environ["wsgi.url_scheme"] = address, scheme


@functools.lru_cache(maxsize=4096)
def limit_key(address: str) -> str:
    """The unit a rate limit counts: an IPv4 address, or an IPv6 /64 (what one
    subscriber usually holds)."""
    parsed = _address(address)
    if parsed is None:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
