"""Composition root: the whole WSGI stack (:func:`build_site`), the threads that run
beside it (:class:`BackgroundWorkers`), the cheroot server (:func:`make_server`), and
serving until SIGTERM/SIGINT, in this process (:func:`serve`) or in several worker
processes on one socket (:func:`serve_workers`).

The one module that imports every layer: the domain, ``gateway.serving``, and both
adapters (``dav_provider``, ``webui``), which never import each other.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from cheroot import wsgi

from dav_provider.app import build_dav_app, is_dav_path, root_options
from dav_provider.error_pages import DavErrorPages
from dav_provider.fast_get import FastGet
from dav_provider.fast_propfind import FastPropfind
from dav_provider.guard import DavGuard
from dav_provider.locks_sqlite import SqliteLockStorage, share_between_processes
from dav_provider.tracking import track_dav
from gateway.config import Config
from gateway.db import database, is_pooled
from gateway.errors import SetupError
from gateway.services import confirmations, invitations, listening, served_versions
from gateway.services.event_feed import EventFeedWorker
from gateway.services.outbox import MailWorker
from gateway.services.retention import start_daily_cleanups
from gateway.services.tracking import start_tracking, stop_tracking
from gateway.serving.clientaddr import parse_networks
from gateway.serving.edge import Edge
from gateway.serving.malloc import limit_arenas
from gateway.serving.pool_release import release_between_chunks
from gateway.serving.ratelimit import MemoryStore, RateLimiter
from gateway.serving.ratelimit_shared import SharedMemoryStore
from gateway.serving.transport import harden
from gateway.serving.worker_order import wake_last_idle_first
from gateway.serving.workers import Supervisor, bind_listener
from gateway.watcher import CatalogWatcher
from webui.app import WebApp
from webui.fast_file import FastFile
from webui.tree import watch_listing_cache

log = logging.getLogger("immoshare")


@dataclasses.dataclass(frozen=True)
class WorkerShare:
    """What the worker processes of one :func:`serve_workers` share without Redis:
    the failure counters of the rate limits (shared memory) and the WebDAV locks (a
    SQLite file). Made by the parent before it forks."""

    counters: SharedMemoryStore
    lock_file: Path


def build_site(
    config: Config,
    workers: BackgroundWorkers | None = None,
    *,
    bare: bool = False,
    share: WorkerShare | None = None,
):
    """The whole request pipeline as one WSGI app. Each line wraps the one above it,
    so a request passes them from the bottom up.

    ``bare`` stops at the dispatch by path (no pool release, no edge): for tests that
    call the site in-process and look inside it (``.dav``, ``.web``). ``share``: what
    this worker shares with the others of ``serve --workers N``.
    """
    mail = workers.mail if workers is not None else mail_worker(config)
    # WebDAV, for agents (/dav) and contacts (/view):
    locks = _lock_storage(config, share)
    dav = build_dav_app(
        config.properties_dir,
        trash_dir=config.trash_dir,
        block_size=config.block_size,
        max_upload_bytes=config.max_upload_bytes,
        lock_storage=locks,
    )
    if isinstance(locks, SqliteLockStorage):  # check and store a LOCK as one, across workers
        share_between_processes(dav.lock_manager, locks)
    dav = FastPropfind(dav)  # PROPFIND of depth 0 or 1 by a lean path (README, "Speed")
    dav = FastGet(dav, block_size=config.block_size)  # plain file GET and HEAD, likewise
    dav = DavGuard(dav, max_upload_bytes=config.max_upload_bytes)  # bounds, 503s, sandbox
    dav = DavErrorPages(dav)  # our bodies for every answer of 400 and above
    dav = track_dav(dav, config)  # outermost, so its close() runs when a client hangs up
    # The web: contact pages, the API, health; personal links' files by a lean path.
    watch_listing_cache()  # the catalog watcher tells the kept folder listings of changes
    web = FastFile(WebApp(config, mail), config)
    site = Gateway(dav, web)  # by path: /dav and /view, OPTIONS /, everything else
    if bare:
        return site
    if is_pooled():  # PostgreSQL: no connection held while a body streams
        site = release_between_chunks(site)
    # Client address, rate limits, header bounds, security headers, 503s (README, "Security").
    return Edge(
        site, limiter=_rate_limiter(config, share), trusted_proxies=_trusted_proxies(config)
    )


class Gateway:
    """The dispatch by path: ``/dav`` and ``/view`` to the WebDAV stack, ``OPTIONS /``
    to the Windows probe answer, everything else to the web."""

    def __init__(self, dav, web):
        self.dav = dav
        self.web = web

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if is_dav_path(path):
            return self.dav(environ, start_response)
        if path in ("", "/") and environ.get("REQUEST_METHOD") == "OPTIONS":
            return root_options(environ, start_response)
        return self.web(environ, start_response)


class BackgroundWorkers:
    """Every thread that runs beside the request workers, started before the socket
    listens and stopped after the last request:

    - the tracking writer, first, so that journals of a killed process are replayed
      before anything new is recorded, and last to stop, so that every event is stored;
    - the daily clean-ups (tracking retention, the trash, served versions, ended
      legal holds), stopped before the writer;
    - the keeper of served versions (``served_versions``), which copies each version
      that goes out to a contact; stopped after the request workers;
    - the catalog watcher (unless ``watch_catalog`` is false: of the workers of
      ``serve --workers N`` only the first watches, for the whole machine);
    - the mail worker for consent confirmations and invitations, kicked at start to
      resume any a restart interrupted (and after each consent by the web app);
    - the event feed: webhook deliveries and agents' notifications, queued in the
      database and sent from there, stopped before the tracking writer.

    Several processes may run all of these but the watcher: the writers append under
    the chain lock, the clean-ups delete whole prefixes and entries, and the mail
    worker and the event feed lease each row they work on (``gateway.services.leases``).
    """

    def __init__(self, config: Config, *, watch_catalog: bool = True):
        self.config = config
        self.mail = mail_worker(config)
        self.events = EventFeedWorker(config)
        self.watch_catalog = watch_catalog
        self._watcher: CatalogWatcher | None = None
        self._cleanups = None
        self._running = False

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        start_tracking(self.config)
        served_versions.start(self.config)
        self._cleanups = start_daily_cleanups(self.config)
        if self.watch_catalog:
            self._watcher = CatalogWatcher(self.config)
            self._watcher.start()
        self.mail.kick()
        self.events.start()

    def stop(self) -> None:
        running, self._running = self._running, False
        if not running:
            return
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        self.events.stop()
        if self._cleanups is not None:
            self._cleanups.stop()
        self.mail.stop()
        served_versions.stop()
        stop_tracking()


def mail_worker(config: Config) -> MailWorker:
    """The one thread that sends every mail to contacts (``gateway.services.outbox``)."""
    return MailWorker(config, (confirmations.QUEUE, invitations.QUEUE))


def _lock_storage(config: Config, share: WorkerShare | None = None):
    """WebDAV locks in Redis when several processes serve the home (README, "Scaling
    out"), else in the workers' SQLite file under ``serve --workers N``, else in this
    process (None: ``wsgidav.yaml`` says)."""
    if not config.redis_url:
        return None if share is None else SqliteLockStorage(share.lock_file)
    try:
        from dav_provider.locks import RedisLockStorage
    except ImportError:
        raise SetupError(
            "redis_url needs the Redis client: pip install 'immoshare[postgres]'"
        ) from None
    return RedisLockStorage(config.redis_url)


def _rate_limiter(config: Config, share: WorkerShare | None = None) -> RateLimiter:
    """Failure counters in Redis when several processes serve the home, in memory
    shared by the workers of ``serve --workers N``, or in this process's memory."""
    if config.redis_url:
        from gateway.serving.ratelimit_redis import RedisCounterStore

        store = RedisCounterStore(config.redis_url, limit=config.rate_limit_failures)
    elif share is not None:
        store = share.counters
    else:
        store = MemoryStore()
    return RateLimiter(store, limit=config.rate_limit_failures, window=config.rate_limit_window)


def _trusted_proxies(config: Config) -> tuple:
    try:
        return parse_networks(config.trusted_proxies)
    except ValueError as exc:
        raise SetupError(f"setting trusted_proxies: {exc}") from None


def make_server(
    config: Config,
    host: str,
    port: int,
    *,
    listener=None,
    share: WorkerShare | None = None,
    watch_catalog: bool = True,
) -> wsgi.Server:
    """A cheroot server sized for 200 concurrent downloads (one thread each). With
    ``listener`` it serves on that bound socket (a worker of :func:`serve_workers`)."""
    limit_arenas()  # before the worker threads exist (gateway.serving.malloc)
    workers = BackgroundWorkers(config, watch_catalog=watch_catalog)
    server = GatewayServer(
        workers,
        (host, port),
        build_site(config, workers, share=share),
        numthreads=config.threads,
        max=config.threads,
        request_queue_size=256,
        timeout=config.socket_timeout,
        shutdown_timeout=5,
        server_name="immoshare",
    )
    server.keep_alive_conn_limit = max(256, config.threads)
    server.listener = listener
    harden(server, config)  # sendfile, header deadline and bounds, TLS
    return server


class GatewayServer(wsgi.Server):
    """cheroot's server with the :class:`BackgroundWorkers` started before the socket
    listens and stopped after the request workers; with ``listener`` set, serving on
    that socket instead of binding one."""

    listener = None

    def __init__(self, workers: BackgroundWorkers, *args, **kwargs):
        super().__init__(*args, **kwargs)
        wake_last_idle_first(self.requests)
        self.workers = workers

    def bind(self, family, type, proto=0):
        if self.listener is None:
            return super().bind(family, type, proto)
        self.socket = self.listener
        self.bind_addr = self.resolve_real_bind_addr(self.listener)
        return self.socket

    def prepare(self):
        self.workers.start()
        super().prepare()
        if self.listener is not None:
            # The other workers accept from this socket too: a worker that loses the
            # race for a connection must not wait in accept() (cheroot's one-second
            # timeout) while its kept-alive connections wait for that same thread.
            self.socket.settimeout(0)

    def stop(self):
        super().stop()
        self.workers.stop()


def serve(config: Config, host: str, port: int, on_ready=None) -> None:
    """Serve until SIGTERM or SIGINT; ``on_ready(port)`` runs once listening. The
    listen address is recorded in the home meanwhile, for the links the CLI prints."""
    server = make_server(config, host, port)
    scheme = "https" if server.ssl_adapter else "http"

    def listening_now(server):
        address = listening.ListenAddress(scheme, host, bound_port(server))  # the host as given
        listening.record_listening(config.home, address)
        if on_ready is not None:
            on_ready(bound_port(server))

    try:
        _serve_until_signal(server, listening_now)
    finally:
        listening.clear_listening(config.home)


def serve_workers(config: Config, host: str, port: int, count: int, on_ready=None) -> None:
    """Serve with ``count`` worker processes on one socket until SIGTERM or SIGINT
    (README, "Several cores"); ``on_ready(port)`` runs once every worker listens.
    This process binds the socket, records the address and supervises; the first
    worker watches the catalog for all of them.

    :raises SetupError: the port cannot be had, or a worker cannot start.
    """
    listener = bind_listener(host, port)
    bound = listener.getsockname()[1]
    if is_pooled():  # no pooled PostgreSQL connection may live on in the forks
        database.obj.close_all()
    folder = Path(tempfile.mkdtemp(prefix="immoshare-workers-"))
    share = WorkerShare(SharedMemoryStore(), folder / "dav-locks.sqlite")
    scheme = "https" if config.tls_cert else "http"

    def run_worker(index: int, announce) -> None:
        server = make_server(
            config, host, bound, listener=listener, share=share, watch_catalog=index == 0
        )
        _serve_until_signal(server, lambda server: announce())

    def all_listening() -> None:
        listening.record_listening(config.home, listening.ListenAddress(scheme, host, bound))
        if on_ready is not None:
            on_ready(bound)

    try:
        Supervisor(count, run_worker).run(all_listening)
    finally:
        listener.close()
        listening.clear_listening(config.home)
        shutil.rmtree(folder, ignore_errors=True)


def _serve_until_signal(server: wsgi.Server, on_listening) -> None:
    """Prepare ``server``, call ``on_listening(server)``, serve until SIGTERM or SIGINT."""
    requested = threading.Event()
    stoppers: list[threading.Thread] = []

    def stop(signum, frame):
        if requested.is_set():
            return
        requested.set()
        if server.ready:  # else still preparing: checked below, once prepared
            stoppers.append(threading.Thread(target=server.stop, daemon=True))
            stoppers[0].start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.prepare()
        if not requested.is_set():
            on_listening(server)
        if not requested.is_set():
            server.serve()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        for stopper in stoppers:  # the requests it lets finish, before the process ends
            stopper.join(server.shutdown_timeout + 5)


def bound_port(server: wsgi.Server) -> int:
    return server.bind_addr[1]
