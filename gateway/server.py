"""Composition root: load the home, build the WebDAV and web apps, dispatch by path,
run cheroot, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import _pyio
import contextlib
import logging
import os
import select
import signal
import socket
import ssl
import threading

from cheroot import errors as cheroot_errors
from cheroot import makefile as cheroot_makefile
from cheroot import server as cheroot_server
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from dav_provider.app import build_dav_app, is_dav_path, root_options
from dav_provider.error_pages import DavErrorPages
from dav_provider.fast_get import FastGet
from dav_provider.fast_propfind import FastPropfind
from dav_provider.guard import DavGuard
from dav_provider.tracking import track_dav
from gateway.clientaddr import parse_networks
from gateway.config import Config
from gateway.db import is_pooled, release_between_chunks
from gateway.edge import Edge
from gateway.errors import SetupError
from gateway.header_deadline import HeaderDeadline
from gateway.malloc import limit_arenas
from gateway.ratelimit import MemoryStore, RateLimiter
from gateway.services import listening
from gateway.services.tracking import start_tracking, stop_tracking
from gateway.watcher import CatalogWatcher
from gateway.worker_order import wake_last_idle_first
from webui import create_app
from webui.tree import watch_listing_cache

log = logging.getLogger("immoshare")


class Gateway:
    """The one WSGI callable: ``/dav`` and ``/view`` to WsgiDAV, ``OPTIONS /`` to the
    Windows probe answer, everything else to the web app."""

    def __init__(self, config: Config):
        self.config = config
        # Each cheroot worker keeps its own database connection (peewee opens it on
        # first use): the pool is fixed, so connections are bounded, and no request
        # pays for connecting. On PostgreSQL, make_server shares a smaller pool.
        dav_app = build_dav_app(
            config.properties_dir,
            trash_dir=config.trash_dir,
            block_size=config.block_size,
            max_upload_bytes=config.max_upload_bytes,
            lock_storage=_lock_storage(config),
        )
        # Plain file GET/HEAD and PROPFIND of depth 0 or 1 are answered by lean paths,
        # the rest by WsgiDAV (issue 6).
        lean = FastGet(FastPropfind(dav_app), block_size=config.block_size)
        self.dav = DavGuard(lean, max_upload_bytes=config.max_upload_bytes)
        # Our own bodies for every answer of 400 and above, the guard's included.
        self.dav = DavErrorPages(self.dav)
        # Outermost, so that its close() runs when a client hangs up (issue 4).
        self.dav = track_dav(self.dav, config)
        self.web = create_app(config)
        watch_listing_cache()  # contact pages' folder listings hear the catalog watchers

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if is_dav_path(path):
            return self.dav(environ, start_response)
        if path in ("", "/") and environ.get("REQUEST_METHOD") == "OPTIONS":
            return root_options(environ, start_response)
        return self.web(environ, start_response)


def _lock_storage(config: Config):
    """WebDAV locks in Redis when several processes serve the home (issue 7)."""
    if not config.redis_url:
        return None
    try:
        from dav_provider.locks import RedisLockStorage
    except ImportError:
        raise SetupError(
            "redis_url needs the Redis client: pip install 'immoshare[postgres]'"
        ) from None
    return RedisLockStorage(config.redis_url)


def make_server(config: Config, host: str, port: int) -> wsgi.Server:
    """A cheroot server sized for 200 concurrent downloads (one thread each)."""
    limit_arenas()  # before the worker threads exist (gateway.malloc, issue 6)
    app = Gateway(config)
    app = release_between_chunks(app) if is_pooled() else app
    server = GatewayServer(
        config,
        (host, port),
        _edge(config, app),
        numthreads=config.threads,
        max=config.threads,
        request_queue_size=256,
        timeout=config.socket_timeout,
        shutdown_timeout=5,
        server_name="immoshare",
    )
    server.keep_alive_conn_limit = max(256, config.threads)
    server.gateway = SendfileGateway  # file bodies by sendfile (issue 6)
    _harden(server, config)
    return server


class GatewayServer(wsgi.Server):
    """cheroot's server plus what runs beside it (issue 4): the tracking writer starts
    before the socket listens (replaying journals of a killed process first), the
    catalog watcher with it; both stop after the workers, so every event is stored."""

    def __init__(self, config: Config, *args, **kwargs):
        super().__init__(*args, **kwargs)
        wake_last_idle_first(self.requests)
        self.config = config
        self._watcher: CatalogWatcher | None = None

    def prepare(self):
        if self._watcher is None:
            start_tracking(self.config)
            self._watcher = CatalogWatcher(self.config)
            self._watcher.start()
        super().prepare()

    def stop(self):
        super().stop()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
            stop_tracking()


def _counter_store(config: Config):
    """Failure counters in Redis when several processes serve the home (issue 7)."""
    if not config.redis_url:
        return MemoryStore()
    from gateway.ratelimit_redis import RedisCounterStore

    return RedisCounterStore(config.redis_url)


def _edge(config: Config, app) -> Edge:
    """Rate limits, security headers, proxies and 503s around the whole site (issue 5)."""
    try:
        trusted = parse_networks(config.trusted_proxies)
    except ValueError as exc:
        raise SetupError(f"setting trusted_proxies: {exc}") from None
    limiter = RateLimiter(
        _counter_store(config), limit=config.rate_limit_failures, window=config.rate_limit_window
    )
    return Edge(app, limiter=limiter, trusted_proxies=trusted)


#: An answer whose whole body is one chunk up to this size goes out with its headers
#: in one send.
TOGETHER_BYTES = 64 * 1024


class SendfileGateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, taught ``sendfile`` (issue 6).

    cheroot writes every body chunk through its buffered writer, which copies it
    twice before the ``send``; with the ``pread`` that made the chunk, a 1 GiB
    download is copied three times in user space, holding the GIL for each copy. A
    body that can send itself (``sendfile_to``: a ``gateway.delivery.CountingBody``
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
INTERNAL_ERROR = "Interner Fehler.\nInternal error.\n"


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
    right away (issue 6). cheroot hands every keep-alive connection back to its
    selector thread after each response, and the next request then waits for that
    thread and for a worker to wake: on loopback that hand-off costs more than serving
    a small file. A client that goes quiet is handed back after ``LINGER_SECONDS``."""

    RequestHandlerClass = _DeadlineRequest
    LINGER_SECONDS = 0.005

    def __init__(self, server, sock, makefile=cheroot_server.MakeFile):
        super().__init__(server, sock, makefile)
        if not isinstance(sock, ssl.SSLSocket):
            self.rfile = _DirectReader(sock, self.rbufsize)
        self.wfile = _SendAllWriter(sock)

    def communicate(self):
        keep_open = super().communicate()
        while keep_open and self._next_request_waiting():
            keep_open = super().communicate()
        return keep_open

    def _next_request_waiting(self) -> bool:
        if self.rfile.has_data():
            return True
        pending = getattr(self.socket, "pending", None)  # TLS: bytes already decrypted
        if pending is not None and pending():
            return True
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


class _SendAllWriter:
    """A connection's ``wfile`` that hands each write to the socket as it is (issue 6).

    cheroot's writer appends every write to a buffer, then sends ``bytes(buffer)`` and
    deletes what the kernel took, again and again: for a 1 MiB block of a file that a
    busy socket takes in pieces, that is several MiB of copying, all of it holding the
    GIL that every other download needs. Files on plain TCP go out by ``sendfile``
    (``gateway.sendfile``); everything else (TLS, chunked answers, pages) comes here.
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


def _harden(server: wsgi.Server, config: Config) -> None:
    """Slowloris deadline, bounded request heads and, with ``tls_cert``/``tls_key``,
    TLS (issue 5)."""
    server.header_deadline = HeaderDeadline(config.header_timeout)
    server.ConnectionClass = _DeadlineConnection
    if config.tls_cert or config.tls_key:
        if not (config.tls_cert and config.tls_key):
            raise SetupError("TLS needs both a certificate (--cert) and a key (--key)")
        try:
            server.ssl_adapter = _TLSAdapter(config.tls_cert, config.tls_key)
        except (OSError, ValueError) as exc:
            raise SetupError(f"cannot load TLS certificate or key: {exc}") from None


def serve(config: Config, host: str, port: int, on_ready=None) -> None:
    """Serve until SIGTERM or SIGINT; ``on_ready(server)`` runs once listening. The
    listen address is recorded in the home meanwhile, for the links the CLI prints."""
    server = make_server(config, host, port)
    stopping = threading.Event()

    def stop(signum, frame):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.stop, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.prepare()
        scheme = "https" if server.ssl_adapter else "http"
        address = listening.ListenAddress(scheme, host, bound_port(server))  # the host as given
        listening.record_listening(config.home, address)
        if on_ready is not None:
            on_ready(server)
        server.serve()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        listening.clear_listening(config.home)


def bound_port(server: wsgi.Server) -> int:
    return server.bind_addr[1]
