"""Printed links point at the running server when ``base_url`` is not set, and ``serve``
says in one line when that address is not one contacts can reach
(``gateway/services/listening.py``)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket

import pytest
import requests

from gateway.services import grants
from gateway.services.listening import (
    LISTENING_FILE,
    ListenAddress,
    exposure_warning,
    running_address,
)
from tests.tools import ServerProcess

CONFIGURED = "http://127.0.0.1:8080"  # the host and port settings' defaults


@pytest.fixture
def granted(cli, consent_texts):
    """obj-1 with contact 4711 granted; returns the link printed then (no server runs)."""
    assert cli("property", "add", "obj-1", "--title", "Haus am See").exit_code == 0
    added = cli("contact", "add", "4711", "--name", "Erika Muster", "--email", "e@example.de")
    assert added.exit_code == 0, added.output
    result = cli("grant", "obj-1", "4711")
    assert result.exit_code == 0, result.output
    return re.search(r"Link: (\S+)", result.output).group(1)


def printed(cli, *args) -> str:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.server
def test_links_printed_while_serve_runs_open_on_its_port(home, cli, granted):
    assert granted.startswith(f"{CONFIGURED}/s/")
    token = granted.rsplit("/", 1)[1]
    server = ServerProcess(home)
    assert server.port != 8080
    try:
        link = re.search(r"Link: (\S+)", printed(cli, "grant", "obj-1", "4711")).group(1)
        assert link == f"{server.url}/s/{token}"
        page = requests.get(link, timeout=30)
        assert page.status_code == 200 and "Haus am See" in page.text
        assert printed(cli, "link", "obj-1", "4711").strip() == link
        preview = printed(cli, "preview", "obj-1").strip()
        assert preview.startswith(f"{server.url}/p/")
        assert "Vorschau" in requests.get(preview, timeout=30).text
        assert f"Mount {server.url}/dav/ " in printed(cli, "agent", "add", "anna")
        assert [p.name for p in home.iterdir() if p.name.startswith(".listening")] == []
    finally:
        server.stop()
    # a clean stop removes the record: links name the configured address again
    assert not (home / LISTENING_FILE).exists()
    assert printed(cli, "link", "obj-1", "4711").strip() == f"{CONFIGURED}/s/{token}"


@pytest.mark.server
def test_a_killed_servers_record_is_not_believed(home, cli, granted):
    server = ServerProcess(home)
    server.stop(signal.SIGKILL)
    assert (home / LISTENING_FILE).exists()
    assert printed(cli, "link", "obj-1", "4711").strip() == granted


@pytest.mark.server
def test_base_url_wins_over_the_running_server(home, cli, granted):
    with open(home / "immoshare.yaml", "a", encoding="utf-8") as fh:
        fh.write("\nbase_url: https://unterlagen.example.de/\n")
    server = ServerProcess(home)
    try:
        link = printed(cli, "link", "obj-1", "4711").strip()
    finally:
        server.stop()
    assert link == "https://unterlagen.example.de/s/" + granted.rsplit("/", 1)[1]


@pytest.mark.server
def test_serve_on_every_address_warns_once_and_prints_loopback_links(home, cli, granted):
    server = ServerProcess(home, host="0.0.0.0")
    try:
        link = printed(cli, "link", "obj-1", "4711").strip()
        assert link.startswith(f"http://127.0.0.1:{server.port}/s/")
        assert requests.get(link, timeout=30).status_code == 200
    finally:
        server.stop()
    warnings = [
        line
        for line in server.log_path.read_text(encoding="utf-8").splitlines()
        if "base_url" in line
    ]
    assert warnings == [
        f"warning: listening on 0.0.0.0 without base_url: links print as "
        f"http://127.0.0.1:{server.port}; set base_url to the address contacts reach "
        "(immoshare.yaml or IMMOSHARE_BASE_URL)"
    ]


@pytest.mark.server
@pytest.mark.parametrize(
    "host, env",
    [("127.0.0.1", {}), ("0.0.0.0", {"IMMOSHARE_BASE_URL": "https://unterlagen.example.de"})],
)
def test_serve_does_not_warn_on_loopback_or_with_base_url(home, host, env):
    server = ServerProcess(home, host=host, env=env)
    server.stop()
    log = server.log_path.read_text(encoding="utf-8")
    assert "serving on" in log and "warning" not in log


@pytest.mark.parametrize(
    "host, warns",
    [
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("::", True),
        ("", True),
        ("192.0.2.7", True),
        ("2001:db8::5", True),
        ("unterlagen.example.de", True),
    ],
)
def test_exposure_warning_only_beyond_loopback_without_base_url(host, warns):
    address = ListenAddress("http", host, 8080)
    assert (exposure_warning(address, None) is not None) is warns
    assert exposure_warning(address, "https://unterlagen.example.de") is None


@pytest.mark.parametrize(
    "scheme, host, origin",
    [
        ("http", "0.0.0.0", "http://127.0.0.1:8081"),
        ("http", "", "http://127.0.0.1:8081"),
        ("https", "::", "https://[::1]:8081"),
        ("http", "2001:db8::5", "http://[2001:db8::5]:8081"),
        ("http", "192.0.2.7", "http://192.0.2.7:8081"),
        ("https", "unterlagen.example.de", "https://unterlagen.example.de:8081"),
    ],
)
def test_printed_origin_of_a_listen_address(scheme, host, origin):
    assert ListenAddress(scheme, host, 8081).origin == origin


def _record(**changes) -> dict:
    record = {
        "scheme": "http",
        "host": "127.0.0.1",
        "port": 9123,
        "pid": os.getpid(),
        "machine": socket.gethostname(),
    }
    return {**record, **changes}


def test_a_live_record_of_this_machine_is_believed(config):
    (config.home / LISTENING_FILE).write_text(json.dumps(_record()))
    assert running_address(config.home) == ListenAddress("http", "127.0.0.1", 9123)
    assert grants.base_url(config) == "http://127.0.0.1:9123"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps(_record(scheme="ftp")).encode(),
        json.dumps(_record(host=["x"])).encode(),
        json.dumps(_record(port="9123")).encode(),
        json.dumps(_record(port=0)).encode(),
        json.dumps(_record(port=70000)).encode(),
        json.dumps(_record(port=True)).encode(),
        json.dumps(_record(pid=None)).encode(),
        json.dumps(_record(pid=0)).encode(),  # os.kill(0 or -1, ...) would signal a group
        json.dumps(_record(pid=-1)).encode(),
        json.dumps(_record(pid=2**31 - 1)).encode(),  # no such process
        json.dumps(_record(machine="another-host")).encode(),
        json.dumps(_record(padding="x" * 10_000)).encode(),
    ],
    # named, not shown: the records hold this process's pid, and pytest-xdist's
    # workers (make test) must collect the same test names
    ids=[
        "empty",
        "not-json",
        "not-utf8",
        "a-list",
        "scheme-ftp",
        "host-a-list",
        "port-a-string",
        "port-0",
        "port-70000",
        "port-true",
        "pid-null",
        "pid-0",
        "pid-minus-1",
        "pid-of-no-process",
        "another-machine",
        "padded",
    ],
)
def test_a_broken_stale_or_foreign_record_falls_back_to_the_settings(config, content):
    (config.home / LISTENING_FILE).write_bytes(content)
    assert running_address(config.home) is None
    assert grants.base_url(config) == CONFIGURED
