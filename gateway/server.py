"""Composition root: load the home, build the WebDAV and web apps, dispatch by path,
run cheroot, stop cleanly on SIGTERM/SIGINT."""

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
from gateway.services import listening
from gateway.services.tracking import start_tracking, stop_tracking
from gateway.serving.clientaddr import parse_networks
from gateway.serving.edge import Edge
from gateway.serving.malloc import limit_arenas
from gateway.serving.pool_release import release_between_chunks
from gateway.serving.ratelimit import MemoryStore, RateLimiter
from gateway.serving.transport import harden
from gateway.serving.worker_order import wake_last_idle_first
from gateway.watcher import CatalogWatcher
from webui import create_app

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
    limit_arenas()  # before the worker threads exist (gateway.serving.malloc, issue 6)
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
    harden(server, config)
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
    from gateway.serving.ratelimit_redis import RedisCounterStore

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
