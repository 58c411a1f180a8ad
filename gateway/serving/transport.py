"""cheroot's transport, taught what immoshare needs on the wire.

- file bodies leave by ``sendfile`` and small answers in one send
  (:class:`SendfileGateway`, :class:`_SendAllWriter`);
- a request's head is read under a deadline (:mod:`gateway.serving.header_deadline`)
  and within bounds of size and field count, with our own plain answers to what
  cheroot refuses (:class:`_DeadlineRequest`);
- a keep-alive connection keeps its worker while the next request follows at once
  (:class:`_DeadlineConnection`);
- the TLS handshake happens in the worker, not in the accepting thread.

:func:`harden` puts these on a cheroot server; ``gateway.server`` builds the server.
"""

from __future__ import annotations

import _pyio
import contextlib
import os
import select
import socket
import ssl

from cheroot import errors as cheroot_errors
from cheroot import makefile as cheroot_makefile
from cheroot import server as cheroot_server
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from gateway.config import Config
from gateway.errors import SetupError
from gateway.serving.header_deadline import HeaderDeadline
from gateway.serving.lean_http import INTERNAL_ERROR, TOGETHER_BYTES, parse_plain, serve_plain


class SendfileGateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, taught ``sendfile`` (README, "Speed").

    cheroot writes every body chunk through its buffered writer, which copies it
    twice before the ``send``; with the ``pread`` that made the chunk, a 1 GiB
    download is copied three times in user space, holding the GIL for each copy. A
    body that can send itself (``sendfile_to``: a ``gateway.serving.delivery.CountingBody``
    around a ``FileBlocks``) is handed the socket instead, once the headers are out,
    and the kernel moves the bytes from the page cache to the socket. Only where it
    cannot change the bytes on the wire: a plain TCP socket (not TLS), a response
    with a Content-Length (not chunked), a GET; everything else goes through
    cheroot's own loop."""

    def respond(self):
        response = self.req.server.wsgi_app(self.env, self.start_response)
        try:
            send = getattr(response, "sendfile_to", None)
            if send is not None and self._can_sendfile():
                self.req.ensure_headers_sent()  # written through, not buffered
                send(self.req.conn.socket)
            else:
                for chunk in filter(None, response):
                    if not isinstance(chunk, bytes):
                        raise ValueError("WSGI Applications must yield bytes")
                    if self._whole_small_body(chunk):
                        with self.req.conn.wfile.together():  # headers and body: one send
                            self.write(chunk)
                    else:
                        self.write(chunk)
        finally:
            self.req.ensure_headers_sent()
            close = getattr(response, "close", None)
            if close is not None:
                close()

    def _whole_small_body(self, chunk: bytes) -> bool:
        return (
            not self.req.sent_headers
            and len(chunk) <= TOGETHER_BYTES
            and self.remaining_bytes_out == len(chunk)
            and isinstance(self.req.conn.wfile, _SendAllWriter)
        )

    def _can_sendfile(self) -> bool:
        req = self.req
        return (
            self.started_response
            and self.remaining_bytes_out is not None
            and not req.chunked_write
            and req.method == b"GET"
            and req.server.ssl_adapter is None
        )


#: The request line and the header fields together, at most: cheroot reads them all
#: into memory before the application sees any of it.
MAX_HEADER_BYTES = 64 * 1024
#: Header fields of one request, at most (browsers send about 15, Explorer 10).
MAX_HEADER_FIELDS = 100

#: cheroot's own answers (requests it cannot parse, or that break a bound), in our
#: words: cheroot's repeat what it found wrong, in English.
SIMPLE_ANSWERS = {
    "400": "Ungültige Anfrage.\nBad request.\n",
    "408": "Die Anfrage kam nicht rechtzeitig an.\nThe request did not arrive in time.\n",
    "413": "Die Anfrage ist zu groß.\nThe request is too large.\n",
    "414": "Die Adresse ist zu lang.\nThe address is too long.\n",
    "431": "Die Kopfzeilen der Anfrage sind zu groß.\nThe request header fields are too large.\n",
    "501": "Nicht unterstützt.\nNot implemented.\n",
    "503": "Vorübergehend nicht verfügbar.\nTemporarily unavailable.\n",
    "505": "Diese HTTP-Version wird nicht unterstützt.\nHTTP version not supported.\n",
}


class _HeaderBudget(cheroot_server.SizeCheckWrapper):
    """cheroot's reader of a request's head, limited to :data:`MAX_HEADER_BYTES` (it
    reads lines in pieces of 256 bytes, so a 100 MB header costs 64 KiB) and to
    :data:`MAX_HEADER_FIELDS` lines after the request line."""

    def __init__(self, rfile):
        super().__init__(rfile, MAX_HEADER_BYTES)
        self.lines = 0

    def readline(self, size=None):
        self.lines += 1
        if self.lines > MAX_HEADER_FIELDS + 2:  # the request line and the empty line
            raise cheroot_errors.MaxSizeExceeded
        return super().readline(size)


class _DeadlineRequest(cheroot_server.HTTPRequest):
    """Reads request line and headers under the server's :class:`HeaderDeadline` and
    within :data:`MAX_HEADER_BYTES` and :data:`MAX_HEADER_FIELDS`: 414 for a longer
    request line, 431 for larger or more header fields (RFC 6585 §5), before reading
    any further."""

    def parse_request(self):
        with self.server.header_deadline.watching(self.conn.socket):
            try:
                self._parse_bounded()
            except ssl.SSLError:
                # a failed handshake (plain HTTP, a client rejecting the certificate):
                # close quietly, as cheroot does when it handshakes while accepting
                self.ready = False

    def _parse_bounded(self):
        """cheroot's ``parse_request`` with our reader and statuses."""
        self.rfile = _HeaderBudget(self.conn.rfile)
        try:
            if not self.read_request_line():
                return
        except cheroot_errors.MaxSizeExceeded:
            self.simple_response("414 Request-URI Too Long")
            return
        try:
            if not self.read_request_headers():
                return
        except cheroot_errors.MaxSizeExceeded:
            self.simple_response("431 Request Header Fields Too Large")
            return
        self.ready = True

    def simple_response(self, status, msg=""):
        """cheroot's plain answer, with a body of ours (:data:`SIMPLE_ANSWERS`): never
        what cheroot found wrong, which may repeat the request."""
        status = str(status)
        body = SIMPLE_ANSWERS.get(status[:3], INTERNAL_ERROR).encode()
        if status[:3] in ("413", "414", "431"):
            self.close_connection = True  # the rest of the request is still unread
        head = [
            f"{self.server.protocol} {status}\r\n",
            f"Content-Length: {len(body)}\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
        ]
        if self.close_connection:
            head.append("Connection: close\r\n")
        try:
            self.conn.wfile.write("".join(head).encode("latin-1") + b"\r\n" + body)
        except OSError as exc:
            if exc.args[0] not in cheroot_errors.socket_errors_to_ignore:
                raise


class _DeadlineConnection(cheroot_server.HTTPConnection):
    """A connection that keeps its worker while the client sends the next request
    right away (README, "Speed"). cheroot hands every keep-alive connection back to its
    selector thread after each response, and the next request then waits for that
    thread and for a worker to wake: on loopback that hand-off costs more than serving
    a small file. A client that goes quiet is handed back after ``LINGER_SECONDS``."""

    RequestHandlerClass = _DeadlineRequest
    LINGER_SECONDS = 0.005

    def __init__(self, server, sock, makefile=cheroot_server.MakeFile):
        super().__init__(server, sock, makefile)
        self._plain = not isinstance(sock, ssl.SSLSocket)
        if self._plain:
            self.rfile = _DirectReader(sock, self.rbufsize)
        self.wfile = _SendAllWriter(sock)

    def communicate(self):
        keep_open = self._answer_next()
        while keep_open and self._next_request_waiting():
            keep_open = self._answer_next()
        return keep_open

    def _answer_next(self) -> bool:
        """The next request: by the lean path (``gateway.serving.lean_http``) when its
        head has arrived whole and is plain, else by cheroot."""
        if self._plain:
            buffered = self.rfile.available()
            if buffered == b"" and self._readable_soon():
                buffered = self.rfile.available()  # a new connection's first request
            if buffered is None:
                return False  # the client closed the connection
            end = buffered.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES)
            if end > 0:
                parsed = parse_plain(buffered[:end], MAX_HEADER_FIELDS)
                if parsed is not None:
                    return serve_plain(self, end + 4, parsed)
        return super().communicate()

    def _next_request_waiting(self) -> bool:
        if self.rfile.has_data():
            return True
        pending = getattr(self.socket, "pending", None)  # TLS: bytes already decrypted
        if pending is not None and pending():
            return True
        return self._readable_soon()

    def _readable_soon(self) -> bool:
        """Whether bytes arrive within ``LINGER_SECONDS``. Reading what comes later is
        cheroot's, under the header deadline."""
        poller = select.poll()  # not select(): descriptors above 1024 are fine
        try:
            poller.register(self.socket, select.POLLIN)
            return bool(poller.poll(self.LINGER_SECONDS * 1000))
        except (OSError, ValueError):  # closed meanwhile
            return False


class _DirectSocketIO(socket.SocketIO):
    """A plain TCP socket's raw reader that first reads the descriptor directly.

    A socket with a timeout is non-blocking, and Python polls it before every
    ``recv``: two system calls, each letting go of the GIL. A keep-alive request
    has mostly arrived by the time it is read (the worker has just seen it with
    ``poll``), so one ``readv`` gets it; only when nothing is there yet does the
    socket's own read wait, as long as its timeout allows.
    """

    def readinto(self, buffer) -> int | None:
        try:
            return os.readv(self._sock.fileno(), [buffer])
        except BlockingIOError:
            return super().readinto(buffer)


class _DirectReader(cheroot_makefile.StreamReader):
    """cheroot's buffered request reader over :class:`_DirectSocketIO`."""

    def __init__(self, sock, bufsize: int):
        _pyio.BufferedReader.__init__(self, _DirectSocketIO(sock, "rb"), bufsize)
        self.bytes_read = 0
        self._fd = sock.fileno()

    def available(self) -> bytes | None:
        """What has arrived and is not yet read, without waiting: the buffer, or what
        the socket holds when the buffer is empty (then kept in the buffer); None
        when the client has closed the connection."""
        if self._read_pos < len(self._read_buf):
            return self._read_buf[self._read_pos :]
        try:
            data = os.read(self._fd, self.buffer_size)
        except BlockingIOError:
            return b""
        except OSError:
            return None
        if not data:
            return None
        self._read_buf, self._read_pos = data, 0
        return data


class _SendAllWriter:
    """A connection's ``wfile`` that hands each write to the socket as it is.

    cheroot's writer appends every write to a buffer, then sends ``bytes(buffer)`` and
    deletes what the kernel took, again and again: for a 1 MiB block of a file that a
    busy socket takes in pieces, that is several MiB of copying, all of it holding the
    GIL that every other download needs. Files on plain TCP go out by ``sendfile``
    (:class:`SendfileGateway`); everything else (TLS, chunked answers, pages) comes here.
    Like cheroot's, every write is out before it returns, so nothing is ever left to
    flush.

    On plain TCP a write first goes straight to the descriptor: the socket has a
    timeout, so it is non-blocking, and a socket with room takes it in one system
    call where ``sendall`` polls first. ``sendall`` sends what is left, waiting as
    long as the timeout allows. :meth:`together` makes a small answer's headers and
    body one send.
    """

    def __init__(self, sock):
        self._sock = sock
        self._fd = None if isinstance(sock, ssl.SSLSocket) else sock.fileno()
        self._held: list | None = None
        self.bytes_written = 0  # read by cheroot's statistics

    def write(self, data) -> int:
        if self._held is not None:
            self._held.append(data)
        else:
            self._send(data)
        self.bytes_written += len(data)
        return len(data)

    @contextlib.contextmanager
    def together(self):
        """Writes made inside go out as one send when it ends."""
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held:
                self._send(b"".join(held))

    def _send(self, data) -> None:
        if self._fd is not None:
            try:
                sent = os.write(self._fd, data)
            except BlockingIOError:
                sent = 0
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
        self._sock.sendall(data)

    def flush(self) -> None:
        pass


class _TLSAdapter(BuiltinSSLAdapter):
    """cheroot's TLS adapter, with the handshake moved from the accepting thread into
    the worker's first read: a client that connects and sends nothing then blocks
    one worker until the header deadline, not every new connection."""

    def wrap(self, sock):
        return self.context.wrap_socket(sock, do_handshake_on_connect=False, server_side=True), {
            "HTTPS": "on"
        }


def harden(server: wsgi.Server, config: Config) -> None:
    """Slowloris deadline, bounded request heads and, with ``tls_cert``/``tls_key``,
    TLS (README, "Security")."""
    server.gateway = SendfileGateway
    server.header_deadline = HeaderDeadline(config.header_timeout)
    server.ConnectionClass = _DeadlineConnection
    if config.tls_cert or config.tls_key:
        if not (config.tls_cert and config.tls_key):
            raise SetupError("TLS needs both a certificate (--cert) and a key (--key)")
        try:
            server.ssl_adapter = _TLSAdapter(config.tls_cert, config.tls_key)
        except (OSError, ValueError) as exc:
            raise SetupError(f"cannot load TLS certificate or key: {exc}") from None
