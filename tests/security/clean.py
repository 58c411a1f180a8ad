"""What no answer to hostile input may show: the input itself, the engines behind the
server and their versions, a traceback; and that the server still answers after it."""

from __future__ import annotations

import platform

import cheroot
import requests
import wsgidav

ENGINE_MARKS = (
    b"WsgiDAV",
    b"wsgidav",
    b"cheroot",
    b"Cheroot",
    b"CherryPy",
    b"Traceback",
    b"Python/",
    b"github.com",
    wsgidav.__version__.encode(),
    cheroot.__version__.encode(),
    platform.python_version().encode(),
)


def assert_clean(response, *inputs: bytes) -> None:
    """Neither the headers nor the body of ``response`` (a ``rawhttp.RawResponse``)
    repeat any of ``inputs`` or name an engine, a version or a traceback."""
    raw = response.raw
    for mark in ENGINE_MARKS:
        assert mark not in raw, (mark, raw[:500])
    for text in inputs:
        assert text not in raw, (text[:60], raw[:500])


def assert_still_answers(port: int) -> None:
    """The server answers a plain request afterwards."""
    response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    assert response.status_code == 200 and response.text == "ok"
