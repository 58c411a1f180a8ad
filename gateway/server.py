"""Composition root: load the home, build the WebDAV and web apps, dispatch by path,
run cheroot, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading

from cheroot import wsgi

from dav_provider.app import build_dav_app, is_dav_path, root_options
from gateway.config import Config
from webui import create_app

log = logging.getLogger("immoshare")


class Gateway:
    """The one WSGI callable: ``/dav`` and ``/view`` to WsgiDAV, ``OPTIONS /`` to the
    Windows probe answer, everything else to the web app."""

    def __init__(self, config: Config):
        self.config = config
        # Each cheroot worker keeps its own database connection (peewee opens it on
        # first use): the pool is fixed, so connections are bounded, and no request
        # pays for connecting.
        self.dav = build_dav_app(config.properties_dir, block_size=config.block_size,
                                 max_upload_bytes=config.max_upload_bytes)
        self.web = create_app(config)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if is_dav_path(path):
            return self.dav(environ, start_response)
        if path in ("", "/") and environ.get("REQUEST_METHOD") == "OPTIONS":
            return root_options(environ, start_response)
        return self.web(environ, start_response)


def make_server(config: Config, host: str, port: int) -> wsgi.Server:
    """A cheroot server sized for 200 concurrent downloads (one thread each)."""
    server = wsgi.Server(
        (host, port), Gateway(config),
        numthreads=config.threads, max=config.threads,
        request_queue_size=256, timeout=30, shutdown_timeout=5,
        server_name="immoshare",
    )
    server.keep_alive_conn_limit = max(256, config.threads)
    return server


def serve(config: Config, host: str, port: int, on_ready=None) -> None:
    """Serve until SIGTERM or SIGINT; ``on_ready(server)`` runs once listening."""
    server = make_server(config, host, port)
    stopping = threading.Event()

    def stop(signum, frame):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.stop, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.prepare()
        if on_ready is not None:
            on_ready(server)
        server.serve()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()


def bound_port(server: wsgi.Server) -> int:
    return server.bind_addr[1]
