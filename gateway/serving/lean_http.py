"""A lean reader and writer for the plainest HTTP requests: GET and HEAD without a body.

cheroot reads a request's head line by line through a pure-Python buffered reader,
builds its WSGI environ header by header, and writes the answer's head through a
second round of checks: for a 4 KiB file that was about as much CPU as the whole
application (access check, file, tracking), and all of it holds the GIL that every
other connection waits for (README, "Speed").

:func:`serve_plain` answers a request whose head is complete in the connection's
buffer and is of the plainest kind, and gives every other request back to cheroot
untouched (nothing is consumed then):

- the request line is ``GET`` or ``HEAD``, an origin-form target of printable
  ASCII without a fragment or an encoded slash, and ``HTTP/1.1``;
- no header announces a body or a protocol change (``Content-Length``,
  ``Transfer-Encoding``, ``Expect``, ``Upgrade``), none is repeated or folded, and
  ``Connection`` is absent or ``keep-alive``;
- the head fits the bounds of ``gateway.serving.transport`` (bytes and fields).

The application is the same WSGI app with the same environ cheroot would build, so
every rule of the site (the edge, the access checks, tracking) applies unchanged;
only the bytes on the wire are read and written here. The answer's head is
cheroot's: its ``Date`` and ``Server`` where the application set none,
``Connection: close`` when the connection ends, chunked coding for a body without a
length. A file body goes out by ``sendfile`` as in ``SendfileGateway``.
"""

from __future__ import annotations

import email.utils
import logging
import re
import sys
import time
import urllib.parse

from cheroot import errors as cheroot_errors

#: The request line this path takes; anything else goes to cheroot.
_REQUEST_LINE = re.compile(rb"(GET|HEAD) (/[\x21-\x22\x24-\x7e]*) HTTP/1\.1")
#: Headers that make a request more than plain: cheroot handles those.
_NOT_PLAIN = frozenset(
    (b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"content-type")
)
_QUOTED_SLASH = re.compile(rb"%2f", re.IGNORECASE)
#: A CR or LF that is not part of a CRLF: cheroot refuses such a head.
_STRAY_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")
_NO_BODY_STATUSES = (204, 205, 304)
#: A first body chunk up to this size goes out with the answer's head in one send
#: (here and in ``gateway.serving.transport``); a larger one is not copied to join it.
TOGETHER_BYTES = 64 * 1024
#: The body of a 500, here and in cheroot's own plain answers (``transport``).
INTERNAL_ERROR = "Interner Fehler.\nInternal error.\n"

log = logging.getLogger("immoshare.server")


class _EmptyInput:
    """``wsgi.input`` of a request without a body."""

    def read(self, size=-1):
        return b""

    def readline(self, size=-1):
        return b""

    def readlines(self, hint=-1):
        return []

    def __iter__(self):
        return iter(())


EMPTY_INPUT = _EmptyInput()


class _HttpDate:
    """cheroot's ``Date`` (``email.utils.formatdate``), made once per second."""

    def __init__(self):
        self._second = -1
        self._text = b""

    def __call__(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._text = email.utils.formatdate(now, usegmt=True).encode("latin-1")
            self._second = now
        return self._text


_http_date = _HttpDate()


def parse_plain(head: bytes, max_fields: int):
    """(method, target, path, query, headers) of a plain request head (without its
    final empty line), or None where cheroot must read it."""
    if _STRAY_LINE_END.search(head):
        return None
    lines = head.split(b"\r\n")
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None or len(lines) - 1 > max_fields:
        return None
    method, target = match.group(1), match.group(2)
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
            return None
        lowered = name.lower()
        if lowered in headers or lowered in _NOT_PLAIN:
            return None
        headers[lowered] = (name, value.strip())
    connection = headers.get(b"connection")
    if connection is not None and connection[1].lower() != b"keep-alive":
        return None
    if target.startswith(b"//"):
        return None  # cheroot reads "//host/..." as an authority
    path, _, query = target.partition(b"?")
    if b"%" in path:
        if _QUOTED_SLASH.search(path):
            return None
        path = urllib.parse.unquote_to_bytes(path)
    return method, target, path, query, headers


def environ_for(conn, method: bytes, target: bytes, path: bytes, query: bytes, headers) -> dict:
    """The WSGI environ cheroot's ``Gateway_10.get_environ`` builds for this request."""
    server = conn.server
    env = {
        "ACTUAL_SERVER_PROTOCOL": server.protocol,
        "PATH_INFO": path.decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "REMOTE_ADDR": conn.remote_addr or "",
        "REMOTE_PORT": str(conn.remote_port or ""),
        "REQUEST_METHOD": method.decode("ascii"),
        "REQUEST_URI": target.decode("latin-1"),
        "SCRIPT_NAME": "",
        "SERVER_NAME": server.server_name,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": server.software,
        "SERVER_PORT": str(server.bind_addr[1]),
        "wsgi.errors": sys.stderr,
        "wsgi.input": EMPTY_INPUT,
        "wsgi.input_terminated": False,
        "wsgi.multiprocess": False,
        "wsgi.multithread": True,
        "wsgi.run_once": False,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
    }
    for name, value in headers.values():
        env["HTTP_" + name.decode("latin-1").upper().replace("-", "_")] = value.decode("latin-1")
    return env


class _Answer:
    """The application's answer as it is started and written (``start_response``)."""

    __slots__ = (
        "conn",
        "head",
        "status",
        "headers",
        "length",
        "head_sent",
        "chunked",
        "close",
        "sent",
    )

    def __init__(self, conn, head: bool):
        self.conn = conn
        self.head = head  # a HEAD request: no body goes out
        self.status = None
        self.headers = None
        self.length = None  # Content-Length, if the application gave one
        self.head_sent = False
        self.chunked = False
        self.close = False
        self.sent = 0  # body bytes written

    def start_response(self, status, headers, exc_info=None):
        if self.status is not None and not exc_info:
            raise RuntimeError("WSGI start_response called a second time with no exc_info.")
        if self.head_sent and exc_info:
            raise exc_info[1]
        if not isinstance(status, str):
            raise TypeError("WSGI response status is not of type str.")
        length = None
        for name, value in headers:
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError(f"WSGI response header {name!r} is not of type str.")
            if name.lower() == "content-length":
                length = int(value)
        self.status, self.headers, self.length = status, headers, length
        return self.write

    def write(self, chunk: bytes) -> None:
        """One chunk of the body (also WSGI's ``write`` callable), with the head
        before the first."""
        if not isinstance(chunk, bytes):
            raise ValueError("WSGI Applications must yield bytes")
        if not chunk or self.head:
            return
        if self.length is not None and self.sent + len(chunk) > self.length:
            raise ValueError("Response body exceeds the declared Content-Length.")
        if not self.head_sent:
            self.send_head(chunk)
        elif self.chunked:
            self.conn.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        else:
            self.conn.wfile.write(chunk)
        self.sent += len(chunk)

    def send_head(self, first_chunk: bytes | None = None) -> None:
        """The status line and headers as cheroot's ``send_headers`` makes them, sent
        together with the first chunk of the body."""
        if self.status is None:
            raise RuntimeError("WSGI app did not call start_response")
        status = int(self.status[:3])
        names = {name.lower() for name, _ in self.headers}
        if status == 413:
            self.close = True
        elif self.length is None and not (status < 200 or status in _NO_BODY_STATUSES):
            if self.head:
                self.close = True  # as cheroot: only closing tells where it ends
            else:
                self.chunked = True
        if not self.close and not self.conn.server.can_add_keepalive_connection:
            self.close = True
        lines = [b"HTTP/1.1 " + self.status.encode("latin-1")]
        for name, value in self.headers:
            lines.append(name.encode("latin-1") + b": " + value.encode("latin-1"))
        if self.chunked:
            lines.append(b"Transfer-Encoding: chunked")
        if self.close and "connection" not in names:
            lines.append(b"Connection: close")
        if "date" not in names:
            lines.append(b"Date: " + _http_date())
        if "server" not in names:
            lines.append(b"Server: " + self.conn.server.server_name.encode("latin-1"))
        data = b"\r\n".join(lines) + b"\r\n\r\n"
        if first_chunk is not None and self.chunked:
            first_chunk = b"%x\r\n%b\r\n" % (len(first_chunk), first_chunk)
        self.head_sent = True
        if first_chunk is not None and len(first_chunk) <= TOGETHER_BYTES:
            self.conn.wfile.write(data + first_chunk)
        else:
            self.conn.wfile.write(data)
            if first_chunk is not None:
                self.conn.wfile.write(first_chunk)


def serve_plain(conn, head_end: int, parsed) -> bool:
    """Answer the parsed request (its head is ``head_end`` bytes of the buffer, read
    here); True when the connection stays open."""
    method, target, path, query, headers = parsed
    conn.rfile.read(head_end)
    environ = environ_for(conn, method, target, path, query, headers)
    answer = _Answer(conn, head=method == b"HEAD")
    server = conn.server
    try:
        response = server.wsgi_app(environ, answer.start_response)
        try:
            _send_body(conn, answer, response)
        finally:
            if not answer.head_sent and answer.status is not None:
                answer.send_head()
            close = getattr(response, "close", None)
            if close is not None:
                close()
        if answer.chunked:
            conn.wfile.write(b"0\r\n\r\n")
        if answer.length is not None and answer.sent != answer.length and not answer.head:
            return False  # the body was shorter than its Content-Length: the connection is spoilt
        return not answer.close and answer.status is not None
    except OSError as exc:
        if exc.args and exc.args[0] not in cheroot_errors.socket_errors_to_ignore:
            log.debug("connection error while answering: %r", exc)
        return False
    except Exception as exc:  # noqa: BLE001 - as cheroot does: logged, 500 if still possible
        server.error_log(repr(exc), level=logging.ERROR, traceback=True)
        if not answer.head_sent:
            _internal_error(conn)
        return False


def _send_body(conn, answer: _Answer, response) -> None:
    send_file = getattr(response, "sendfile_to", None)
    if send_file is not None and not answer.head and answer.length is not None:
        answer.send_head()
        send_file(conn.socket)
        answer.sent = answer.length  # CountingBody knows what went out; a short file raises
        return
    for chunk in response:
        answer.write(chunk)


def _internal_error(conn) -> None:
    body = INTERNAL_ERROR.encode()
    try:
        conn.wfile.write(
            b"HTTP/1.1 500 Internal Server Error\r\n"
            b"Content-Length: %d\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Connection: close\r\n\r\n%b" % (len(body), body)
        )
    except OSError:
        pass
