"""Composition root: the whole WSGI stack (:func:`build_site`), the threads that run
beside it (:class:`BackgroundWorkers`), the cheroot server (:func:`make_server`), and
serving until SIGTERM/SIGINT (:func:`serve`).

The one module that imports every layer: the domain, ``gateway.serving``, and both
adapters (``dav_provider``, ``webui``), which never import each other.
"""

from __future__ import annotations

import logging
import signal
import threading

from cheroot import wsgi

from dav_provider.app import build_dav_app, is_dav_path, root_options
from dav_provider.error_pages import DavErrorPages
from dav_provider.fast_get import FastGet
from dav_provider.fast_propfind import FastPropfind
from dav_provider.guard import DavGuard
from dav_provider.tracking import track_dav
from gateway.config import Config
from gateway.db import is_pooled
from gateway.errors import SetupError
from gateway.services import confirmations, invitations, listening
from gateway.services.event_feed import EventFeedWorker
from gateway.services.outbox import MailWorker
from gateway.services.retention import start_daily_cleanups
from gateway.services.tracking import start_tracking, stop_tracking
from gateway.serving.clientaddr import parse_networks
from gateway.serving.edge import Edge
from gateway.serving.malloc import limit_arenas
from gateway.serving.pool_release import release_between_chunks
from gateway.serving.ratelimit import MemoryStore, RateLimiter
from gateway.serving.transport import harden
from gateway.serving.worker_order import wake_last_idle_first
from gateway.watcher import CatalogWatcher
from webui.app import WebApp
from webui.fast_file import FastFile
from webui.tree import watch_listing_cache

log = logging.getLogger("immoshare")


def build_site(config: Config, workers: BackgroundWorkers | None = None, *, bare: bool = False):
    """The whole request pipeline as one WSGI app. Each line wraps the one above it,
    so a request passes them from the bottom up.

    ``bare`` stops at the dispatch by path (no pool release, no edge): for tests that
    call the site in-process and look inside it (``.dav``, ``.web``).
    """
    mail = workers.mail if workers is not None else mail_worker(config)
    # WebDAV, for agents (/dav) and contacts (/view):
    dav = build_dav_app(
        config.properties_dir,
        trash_dir=config.trash_dir,
        block_size=config.block_size,
        max_upload_bytes=config.max_upload_bytes,
        lock_storage=_lock_storage(config),
    )
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
    return Edge(site, limiter=_rate_limiter(config), trusted_proxies=_trusted_proxies(config))


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
    - the daily clean-ups (tracking retention, the trash), stopped before the writer;
    - the catalog watcher;
    - the mail worker for consent confirmations and invitations, kicked at start to
      resume any a restart interrupted (and after each consent by the web app);
    - the event feed: webhook deliveries and agents' notifications, queued in the
      database and sent from there, stopped before the tracking writer.
    """

    def __init__(self, config: Config):
        self.config = config
        self.mail = mail_worker(config)
        self.events = EventFeedWorker(config)
        self._watcher: CatalogWatcher | None = None
        self._cleanups = None

    def start(self) -> None:
        if self._watcher is not None:
            return
        start_tracking(self.config)
        self._cleanups = start_daily_cleanups(self.config)
        self._watcher = CatalogWatcher(self.config)
        self._watcher.start()
        self.mail.kick()
        self.events.start()

    def stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is None:
            return
        watcher.stop()
        self.events.stop()
        if self._cleanups is not None:
            self._cleanups.stop()
        self.mail.stop()
        stop_tracking()


def mail_worker(config: Config) -> MailWorker:
    """The one thread that sends every mail to contacts (``gateway.services.outbox``)."""
    return MailWorker(config, (confirmations.QUEUE, invitations.QUEUE))


def _lock_storage(config: Config):
    """WebDAV locks in Redis when several processes serve the home (README, "Scaling
    out")."""
    if not config.redis_url:
        return None
    try:
        from dav_provider.locks import RedisLockStorage
    except ImportError:
        raise SetupError(
            "redis_url needs the Redis client: pip install 'immoshare[postgres]'"
        ) from None
    return RedisLockStorage(config.redis_url)


def _rate_limiter(config: Config) -> RateLimiter:
    """Failure counters in memory, or in Redis when several processes serve the home."""
    if config.redis_url:
        from gateway.serving.ratelimit_redis import RedisCounterStore

        store = RedisCounterStore(config.redis_url)
    else:
        store = MemoryStore()
    return RateLimiter(store, limit=config.rate_limit_failures, window=config.rate_limit_window)


def _trusted_proxies(config: Config) -> tuple:
    try:
        return parse_networks(config.trusted_proxies)
    except ValueError as exc:
        raise SetupError(f"setting trusted_proxies: {exc}") from None


def make_server(config: Config, host: str, port: int) -> wsgi.Server:
    """A cheroot server sized for 200 concurrent downloads (one thread each)."""
    limit_arenas()  # before the worker threads exist (gateway.serving.malloc)
    workers = BackgroundWorkers(config)
    server = GatewayServer(
        workers,
        (host, port),
        build_site(config, workers),
        numthreads=config.threads,
        max=config.threads,
        request_queue_size=256,
        timeout=config.socket_timeout,
        shutdown_timeout=5,
        server_name="immoshare",
    )
    server.keep_alive_conn_limit = max(256, config.threads)
    harden(server, config)  # sendfile, header deadline and bounds, TLS
    return server


class GatewayServer(wsgi.Server):
    """cheroot's server with the :class:`BackgroundWorkers` started before the socket
    listens and stopped after the request workers."""

    def __init__(self, workers: BackgroundWorkers, *args, **kwargs):
        super().__init__(*args, **kwargs)
        wake_last_idle_first(self.requests)
        self.workers = workers

    def prepare(self):
        self.workers.start()
        super().prepare()

    def stop(self):
        super().stop()
        self.workers.stop()


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
