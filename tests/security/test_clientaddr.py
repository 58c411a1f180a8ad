"""Whose address a request carries, and how failures are counted: the pure parts of
the edge, with the forged and malformed headers a client may send."""

from __future__ import annotations

import pytest

from gateway.serving.clientaddr import apply_forwarded, client_address, limit_key, parse_networks
from gateway.serving.ratelimit import MemoryStore, RateLimiter

PROXIES = parse_networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    "peer,forwarded,expected",
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy: header ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),  # two trusted hops
        ("10.0.0.2", "192.0.2.66, 198.51.100.1", "198.51.100.1"),  # client-written hop ignored
        ("10.0.0.2", "not-an-address", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1:4711", "198.51.100.1"),
        ("10.0.0.2", "[2001:db8::7]:443", "2001:db8::7"),
        ("10.0.0.2", "", "10.0.0.2"),
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),  # IPv4-mapped proxy
    ],
)
def test_client_address(peer, forwarded, expected):
    environ = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded}
    assert client_address(environ, PROXIES) == expected


def test_scheme_only_from_trusted_proxies():
    forged = {
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_X_FORWARDED_PROTO": "https",
        "wsgi.url_scheme": "http",
    }
    apply_forwarded(forged, PROXIES)
    assert forged["wsgi.url_scheme"] == "http"
    proxied = {
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_FOR": "198.51.100.1",
        "wsgi.url_scheme": "http",
    }
    apply_forwarded(proxied, PROXIES)
    assert (proxied["wsgi.url_scheme"], proxied["REMOTE_ADDR"]) == ("https", "198.51.100.1")
    assert proxied["immoshare.peer_addr"] == "10.0.0.2"


def test_ipv6_clients_are_counted_per_64():
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::9")
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("198.51.100.1") != limit_key("198.51.100.2")


def test_limiter_blocks_after_the_limit_until_the_window_ends():
    now = [1000.0]
    limiter = RateLimiter(MemoryStore(clock=lambda: now[0]), limit=3, window=60)
    for _ in range(3):
        assert limiter.retry_after("login", "a") is None
        limiter.failed("login", "a")
    assert limiter.retry_after("login", "a") == 60
    assert limiter.retry_after("login", "b") is None  # another client
    assert limiter.retry_after("link", "a") is None  # another scope
    now[0] += 45
    assert limiter.retry_after("login", "a") == 15
    now[0] += 15
    assert limiter.retry_after("login", "a") is None


def test_memory_store_stays_bounded_under_a_flood_of_addresses():
    store = MemoryStore(max_keys=100)
    for n in range(1000):
        store.increment(f"login:{n}", 60)
    assert len(store._counters) <= 100
