"""One request straight into a WSGI app, as the comparison tests of the lean paths
send it (no sockets): they compare an answer with and without the lean path."""

from __future__ import annotations

import dataclasses
import io
import re
import sys

from tests.factories import AGENT_PASSWORD
from tests.tools import basic

#: WsgiDAV's error pages say when they were made.
_ERROR_PAGE_TIME = re.compile(rb"</a> - [0-9][0-9:. -]+")


def request(app, method: str, path: str, auth=None, body: bytes = b"", **headers):
    """(status, headers without Date, body chunks) of one request; the error pages'
    times are blanked, so two answers compare."""
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_TYPE"] = "application/xml"
    if auth:
        environ["HTTP_AUTHORIZATION"] = auth
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    started = []
    result = app(environ, lambda status, hdrs, exc_info=None: started.append((status, hdrs)))
    try:
        chunks = list(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status, hdrs = started[-1]
    chunks = [_ERROR_PAGE_TIME.sub(b"</a> - TIME", chunk) for chunk in chunks]
    return status, [(n, v) for n, v in hdrs if n.lower() != "date"], chunks


@dataclasses.dataclass
class Answer:
    """One answer: status line, headers without ``Date``, the whole body, and the
    number of chunks it came in (a streamed answer has several; not compared)."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    chunks: int = dataclasses.field(default=1, compare=False)


def call(app, method: str, path: str, auth=None, body: bytes = b"", **headers) -> Answer:
    """One request straight into the WSGI app (see :func:`request`)."""
    status, hdrs, chunks = request(app, method, path, auth, body, **headers)
    return Answer(status, hdrs, b"".join(chunks), len(chunks))


def without_lean_path(lean_class: type, fallthrough: type[Exception]):
    """``call(monkeypatch, app, ...)`` with the lean path ``lean_class`` handing every
    request on (it raises ``fallthrough``, as it does for what it does not serve): the
    answer of the stack behind it, which the lean path's answer must equal."""

    def hand_on(self, *args):
        raise fallthrough

    def call_without(monkeypatch, app, *args, **kwargs) -> Answer:
        with monkeypatch.context() as patch:
            patch.setattr(lean_class, "_serve", hand_on)
            return call(app, *args, **kwargs)

    return call_without


def logins(granted) -> dict:
    """The ``Authorization`` values the comparison cases name by who sends them: the
    granted contact, the agent ``anna`` of ``tests.factories``, a wrong password, none."""
    return {
        "contact": basic(granted.username, granted.password),
        "agent": basic("anna", AGENT_PASSWORD),
        "wrong": basic(granted.username, "wrong"),
        None: None,
    }
