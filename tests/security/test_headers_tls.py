"""Security headers on every HTML response, and ``serve --cert/--key`` (TLS, HSTS).

The CSP must forbid inline script, so the pages themselves must not contain any: a
page that relied on inline script would be broken, not protected.
"""

from __future__ import annotations

import select
import socket

import pytest
import requests

from tests.security import rawhttp
from tests.security.htmlcheck import active_content
from tests.tools import HANG_SECONDS

pytestmark = pytest.mark.server


def _html_responses(base, world, verify=True):
    """(label, response) for every kind of page the site answers in HTML, and WebDAV
    errors (plain text since they are ours, ``dav_provider.error_pages``)."""
    contact, agent = world.contact, world.agent
    browser = {"Accept": "text/html"}
    calls = [
        ("share page", "GET", f"/s/{world.link}", None),
        ("consent page", "GET", f"/s/{world.consent_link}", None),
        ("preview", "GET", f"/p/{world.preview}", None),
        ("unknown link", "GET", "/s/" + "A" * 43, None),
        ("unknown preview", "GET", "/p/" + "A" * 43, None),
        ("deep unknown", "GET", f"/s/{world.link}/download/nothing.pdf", None),
        ("no page", "GET", "/nothing-here", None),
        ("dav 401", "GET", "/dav/", None),
        ("dav 404", "GET", "/view/obj-2/secret.pdf", contact),
        ("dav 403", "DELETE", "/dav/obj-1/", agent),
        ("dav 405", "PUT", "/view/obj-1/plan.pdf", contact),
        ("dav connect page", "GET", "/dav/", agent, browser),
        ("view connect page", "GET", "/view/obj-1/", contact, browser),
    ]
    answers = []
    for label, method, path, auth, *headers in calls:
        headers = dict(*headers)  # the optional fifth element
        answers.append(
            (
                label,
                requests.request(method, base + path, auth=auth, verify=verify, headers=headers),
            )
        )
    return answers


def _assert_headers(label, r, *, tls):
    assert r.headers.get("X-Content-Type-Options") == "nosniff", label
    if r.headers.get("Content-Type", "").startswith("text/html"):
        csp = r.headers.get("Content-Security-Policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        assert "frame-ancestors" in directives and directives["frame-ancestors"] == ["'none'"]
        script = directives.get("script-src", directives.get("default-src"))
        assert script and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert "*" not in script, label
        assert active_content(r.text) == [], label
    assert ("Strict-Transport-Security" in r.headers) == tls, label


def test_every_html_response_carries_the_security_headers(server, world):
    responses = _html_responses(server.url, world)
    assert sum(r.headers.get("Content-Type", "").startswith("text/html") for _, r in responses) >= 9
    for label, r in responses + [("healthz", requests.get(server.url + "/healthz"))]:
        _assert_headers(label, r, tls=False)


def test_rate_limited_answers_carry_the_headers_too(start_server, world):
    server = start_server(rate_limit_failures=1, rate_limit_window=60)
    requests.get(server.url + "/s/" + "A" * 43)
    blocked = requests.get(server.url + "/s/" + "B" * 43)
    assert blocked.status_code == 429
    _assert_headers("429", blocked, tls=False)


def test_serve_with_cert_and_key_speaks_tls_with_hsts(world, tls_server):
    url, port, cert = tls_server.url, tls_server.port, tls_server.verify
    # verify= on each call: a session's verify loses to REQUESTS_CA_BUNDLE
    assert requests.get(url + "/healthz", verify=cert).text == "ok"
    page = requests.get(f"{url}/s/{world.link}", verify=cert)
    assert page.status_code == 200 and "Musterstraße 5" in page.text
    listing = requests.request(
        "PROPFIND", url + "/dav/obj-1/", auth=world.agent, headers={"Depth": "1"}, verify=cert
    )
    assert listing.status_code == 207 and "plan.pdf" in listing.text
    for label, r in [("share", page), ("dav", listing)]:
        assert r.headers["Strict-Transport-Security"].startswith("max-age="), label
    for label, r in _html_responses(url, world, verify=cert):
        _assert_headers(label, r, tls=True)
    # plain HTTP on the TLS port is never served
    plain = socket.create_connection(("127.0.0.1", port), timeout=HANG_SECONDS)
    plain.sendall(f"GET /s/{world.link} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    answer = b""
    try:
        while chunk := plain.recv(4096):
            answer += chunk
    except OSError:
        pass
    plain.close()
    assert "Musterstraße".encode() not in answer and b" 200 " not in answer


def test_silent_tls_clients_do_not_block_the_others(world, tls_server):
    """A TCP connection that never starts the TLS handshake must not stall accepting
    (cheroot does the handshake in its accepting thread); it is dropped at the
    header deadline like a slowloris client. Were the handshakes done one after
    another, the request below would be answered only after every silent connection
    had been dropped: it must be answered while they are all still open."""
    silent = [socket.create_connection(("127.0.0.1", tls_server.port)) for _ in range(5)]
    try:
        r = requests.get(tls_server.url + "/healthz", verify=tls_server.verify, timeout=30)
        dropped, _, _ = select.select(silent, [], [], 0)
        assert r.text == "ok" and dropped == [], "answered only after dropping silent clients"
        for sock in silent:
            sock.settimeout(HANG_SECONDS)
            try:
                assert sock.recv(1) == b""  # closed by the server
            except ConnectionResetError:
                pass
    finally:
        for sock in silent:
            sock.close()


def test_cert_without_key_is_a_usage_error(cli, tls_files):
    cert, _ = tls_files
    result = cli("serve", "--port", "0", "--cert", str(cert))
    assert result.exit_code == 2 and "--key" in result.output


def test_hsts_behind_a_trusted_tls_proxy_only(start_server, world):
    server = start_server(trusted_proxies="127.0.0.2")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    target = f"/s/{world.link}".encode()
    proxied = rawhttp.request(server.port, "GET", target, forwarded, source="127.0.0.2")
    assert proxied.status == 200 and "strict-transport-security" in proxied.headers
    forged = rawhttp.request(server.port, "GET", target, forwarded)
    assert forged.status == 200 and "strict-transport-security" not in forged.headers
