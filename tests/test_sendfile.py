"""Large file bodies leave by ``sendfile`` (the server's sendfile gateway), byte-exact and
tracked like any other body; small ones, HEAD and TLS keep cheroot's own loop."""

from __future__ import annotations

import hashlib
import os
import socket
from urllib.parse import urlsplit

import pytest
import requests

from gateway.serving import delivery
from tests.factories import make_contact, make_grant, make_property
from tests.security import rawhttp
from tests.tools import HANG_SECONDS, basic
from tests.tracking_tools import wait_for_events

pytestmark = pytest.mark.server

BIG = os.urandom(20 * 1024 * 1024 + 123)  # several sendfile slices


@pytest.fixture
def granted(config):
    make_property(config, "obj-1", files={"Rundgang.mp4": BIG, "Exposé.pdf": b"%PDF-1.4 small"})
    make_contact("4711")
    return make_grant(config, "obj-1", "4711")


@pytest.fixture
def sendfile_calls(monkeypatch):
    """Every ``os.sendfile`` the server makes: (offset, count, sent)."""
    calls = []
    real = os.sendfile

    def recording(out_fd, in_fd, offset, count):
        sent = real(out_fd, in_fd, offset, count)
        calls.append((offset, count, sent))
        return sent

    monkeypatch.setattr(delivery.os, "sendfile", recording)
    return calls


@pytest.mark.each_database  # PostgreSQL's pooled connections wrap every body
def test_webdav_and_web_downloads_go_out_by_sendfile(server, granted, sendfile_calls):
    auth = (granted.username, granted.password)
    dav = requests.get(server.url + "/view/obj-1/Rundgang.mp4", auth=auth)
    assert dav.status_code == 200 and dav.content == BIG
    assert sum(sent for _, _, sent in sendfile_calls) == len(BIG)
    assert max(count for _, count, _ in sendfile_calls) <= delivery.SENDFILE_SLICE

    sendfile_calls.clear()
    link = urlsplit(granted.link).path
    web = requests.get(server.url + link + "/download/Rundgang.mp4")
    assert web.status_code == 200 and web.content == BIG
    assert sum(sent for _, _, sent in sendfile_calls) == len(BIG)

    events = wait_for_events(2)
    assert [(e["channel"], e["bytes"], e["complete"]) for e in events] == [
        ("dav", len(BIG), True),
        ("web", len(BIG), True),
    ]
    assert {e["sha256"] for e in events} == {hashlib.sha256(BIG).hexdigest()}


def test_a_range_starts_where_it_was_asked(server, granted, sendfile_calls):
    auth = (granted.username, granted.password)
    start, end = 5 * 1024 * 1024 + 7, 17 * 1024 * 1024
    r = requests.get(
        server.url + "/view/obj-1/Rundgang.mp4",
        auth=auth,
        headers={"Range": f"bytes={start}-{end}"},
    )
    assert r.status_code == 206 and r.content == BIG[start : end + 1]
    assert sendfile_calls[0][0] == start
    [event] = wait_for_events(1)
    assert (event["bytes"], event["complete"], event["status"]) == (
        end + 1 - start,
        False,  # a part of the file is no complete delivery (docs/interface.md)
        206,
    )


def test_small_files_and_head_keep_the_plain_loop(server, granted, sendfile_calls):
    auth = (granted.username, granted.password)
    assert requests.get(server.url + "/view/obj-1/Exposé.pdf", auth=auth).content == (
        b"%PDF-1.4 small"
    )
    head = requests.head(server.url + "/view/obj-1/Rundgang.mp4", auth=auth)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(BIG))
    assert sendfile_calls == []


def test_a_file_truncated_during_its_download_drops_the_connection(server, config, granted):
    """The Content-Length promised the whole file: the server must not keep the
    connection as if the body had ended, and the access is incomplete."""
    path = config.properties_dir / "obj-1" / "Rundgang.mp4"
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=HANG_SECONDS)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    auth = basic(granted.username, granted.password)
    request = f"GET /view/obj-1/Rundgang.mp4 HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
    sock.sendall((request + "\r\n").encode())
    received = len(rawhttp.read_head(sock)[1])
    with open(path, "r+b") as fh:
        fh.truncate(1024 * 1024)  # an editor rewriting the file in place
    while chunk := sock.recv(1024 * 1024):  # ends when the server drops the connection
        received += len(chunk)
    sock.close()
    assert received < len(BIG)
    [event] = wait_for_events(1)
    assert event["complete"] is False and event["bytes"] < len(BIG)
