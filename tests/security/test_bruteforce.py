"""Brute force on passwords, link tokens and API keys: 429 with ``Retry-After`` after a
few failures from one address, other clients unaffected; forged ``X-Forwarded-For``
only believed from a trusted proxy; unknown and known names cost the same argon2
verification.

Other clients connect from another loopback address (``127.0.0.2``), a real
different peer for the server.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import argon2
import pytest

from tests.security import rawhttp
from tests.tools import wait_until

pytestmark = pytest.mark.server

LIMIT = 3
PROPFIND = b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop><displayname/></prop></propfind>'


def _propfind(server, share, auth, source=None, headers=None):
    return rawhttp.request(
        server.port,
        "PROPFIND",
        f"/{share}/".encode(),
        {"Authorization": rawhttp.basic(*auth), "Depth": "1", **(headers or {})},
        PROPFIND,
        source=source,
    )


def _assert_429(response, window):
    assert response.status == 429
    assert 1 <= int(response.headers["retry-after"]) <= window
    assert not response.body.count(b"obj-1")


@pytest.mark.parametrize("share,who", [("dav", "agent"), ("view", "contact")])
def test_wrong_passwords_get_429_and_other_clients_do_not(start_server, world, share, who):
    server = start_server(rate_limit_failures=LIMIT, rate_limit_window=60)
    user, password = getattr(world, who)
    for _ in range(LIMIT):
        assert _propfind(server, share, (user, "wrong")).status == 401
    _assert_429(_propfind(server, share, (user, "wrong")), 60)
    # the right password does not help the blocked address: no oracle
    _assert_429(_propfind(server, share, (user, password)), 60)
    # nor does switching to the other share or an unknown name
    other_share = "view" if share == "dav" else "dav"
    _assert_429(_propfind(server, other_share, ("nobody", "x")), 60)
    # another client is served as before, with the same account
    assert _propfind(server, share, (user, password), source="127.0.0.2").status == 207
    # a request without credentials is not a failed attempt (clients probe first)
    for _ in range(LIMIT + 2):
        r = rawhttp.request(
            server.port,
            "PROPFIND",
            f"/{share}/".encode(),
            {"Depth": "1"},
            PROPFIND,
            source="127.0.0.3",
        )
        assert r.status == 401
    assert _propfind(server, share, (user, password), source="127.0.0.3").status == 207


def test_block_ends_after_the_window(start_server, world):
    server = start_server(rate_limit_failures=LIMIT, rate_limit_window=2)
    for _ in range(LIMIT):
        assert _propfind(server, "dav", ("anna", "wrong")).status == 401
    blocked = _propfind(server, "dav", world.agent)
    _assert_429(blocked, 2)
    # asking while blocked is no failed attempt: it does not prolong the block
    wait_until(
        lambda: _propfind(server, "dav", world.agent).status == 207,
        message="the block did not end after its window",
    )


@pytest.mark.parametrize("prefix", ["s", "p"])
def test_guessing_link_tokens_gets_429(start_server, world, prefix):
    server = start_server(rate_limit_failures=LIMIT, rate_limit_window=60)
    guesses = [
        f"/{prefix}/{'A' * 43}",
        f"/{prefix}/{'B' * 43}/",
        f"/{prefix}/x/zip",
        f"/{prefix}/{'C' * 43}/download/plan.pdf",
    ]
    for guess in guesses[:LIMIT]:
        assert rawhttp.request(server.port, "GET", guess.encode()).status == 404
    blocked = rawhttp.request(server.port, "GET", guesses[-1].encode())
    _assert_429(blocked, 60)
    # now even the right token is refused to this address, but not to others
    real = f"/s/{world.link}".encode()
    _assert_429(rawhttp.request(server.port, "GET", real), 60)
    other = rawhttp.request(server.port, "GET", real, source="127.0.0.2")
    assert other.status == 200 and "Musterstraße 5".encode() in other.body


def test_guessing_api_keys_gets_429(start_server, world):
    server = start_server(rate_limit_failures=LIMIT, rate_limit_window=60)
    for n in range(LIMIT):
        r = rawhttp.request(
            server.port, "GET", b"/api/v1/events", {"Authorization": f"Bearer imk_guess{n}"}
        )
        assert r.status == 401
    _assert_429(
        rawhttp.request(
            server.port, "GET", b"/api/v1/events", {"Authorization": "Bearer imk_guess"}
        ),
        60,
    )


def test_forwarded_for_counts_only_from_trusted_proxies(start_server, world):
    # untrusted peer: a fresh X-Forwarded-For per attempt does not reset the count
    server = start_server(rate_limit_failures=LIMIT, rate_limit_window=60)
    for n in range(LIMIT):
        r = _propfind(
            server, "dav", ("anna", "wrong"), headers={"X-Forwarded-For": f"198.51.100.{n}"}
        )
        assert r.status == 401
    _assert_429(
        _propfind(server, "dav", world.agent, headers={"X-Forwarded-For": "198.51.100.200"}), 60
    )
    # behind a trusted proxy on 127.0.0.2, clients are told apart by the header
    proxied = start_server(
        rate_limit_failures=LIMIT, rate_limit_window=60, trusted_proxies="127.0.0.2"
    )
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(LIMIT):
        r = _propfind(proxied, "dav", ("anna", "wrong"), source="127.0.0.2", headers=attacker)
        assert r.status == 401
    _assert_429(_propfind(proxied, "dav", world.agent, source="127.0.0.2", headers=attacker), 60)
    honest = {"X-Forwarded-For": "203.0.113.8"}
    assert _propfind(proxied, "dav", world.agent, source="127.0.0.2", headers=honest).status == 207
    # the attacker's own chain cannot smuggle a new address past the proxy
    smuggled = {"X-Forwarded-For": "192.0.2.1, 203.0.113.7"}
    _assert_429(_propfind(proxied, "dav", world.agent, source="127.0.0.2", headers=smuggled), 60)


@pytest.fixture
def argon2_verifications(monkeypatch) -> list[argon2.Parameters]:
    """The parameters (the cost) of each argon2 verification from now on: the real
    library runs, only watched."""
    runs = []
    real = argon2.PasswordHasher.verify

    def watched(self, stored_hash, password):
        runs.append(argon2.extract_parameters(stored_hash))
        return real(self, stored_hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", watched)
    return runs


@pytest.mark.parametrize("share,who", [("dav", "agent"), ("view", "contact")])
def test_unknown_and_known_names_cost_the_same(server, world, share, who, argon2_verifications):
    # A name that answered faster than another would tell an attacker which names
    # exist. What costs the time is argon2, whose cost its parameters set: a known
    # name and an unknown one must each run exactly one verification, at the same
    # cost. (Rate limiting is off in this suite's default server.)
    known = getattr(world, who)[0]
    assert _propfind(server, share, (known, "wrong-password")).status == 401
    (known_cost,) = argon2_verifications
    assert _propfind(server, share, ("no-such-user-x", "wrong-password")).status == 401
    assert argon2_verifications == [known_cost, known_cost]


# -- the cost of argon2 under many requests ------------------------------------------


@pytest.fixture
def argon2_runs(monkeypatch):
    """A cold verification cache, and the checks that ran: count and most at once."""
    from gateway import security
    from gateway.services import access

    monkeypatch.setattr(access, "_verified", security.VerificationCache())
    runs = {"count": 0, "running": 0, "most": 0}
    lock = threading.Lock()
    real = security.verify_password

    def counted(stored_hash, password):
        with lock:
            runs["count"] += 1
            runs["running"] += 1
            runs["most"] = max(runs["most"], runs["running"])
        try:
            return real(stored_hash, password)
        finally:
            with lock:
                runs["running"] -= 1

    monkeypatch.setattr(security, "verify_password", counted)
    return runs


def _together(n, request):
    """``request(i)`` from ``n`` threads at once; the answers' statuses."""
    start = threading.Barrier(n)

    def one(i):
        start.wait()
        return request(i).status

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_downloads_that_start_together_check_the_password_once(server, world, argon2_runs):
    # Case 7 of the bench: 200 downloads with one login start at once just after the
    # cached check expired; each ran argon2 (64 MiB, 0.2 s) and they timed out after 30 s.
    def get(i):
        headers = {"Authorization": rawhttp.basic(*world.contact)}
        return rawhttp.request(server.port, "GET", b"/view/obj-1/plan.pdf", headers)

    assert _together(30, get) == [200] * 30
    assert argon2_runs["count"] == 1


def test_password_checks_run_a_few_at_a_time(server, world, argon2_runs):
    def wrong(i):
        headers = {"Authorization": rawhttp.basic(world.contact[0], f"wrong-{i}")}
        return rawhttp.request(server.port, "GET", b"/view/obj-1/plan.pdf", headers)

    assert _together(12, wrong) == [401] * 12
    assert argon2_runs["count"] == 12 and argon2_runs["most"] <= 4, argon2_runs
