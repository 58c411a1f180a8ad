"""The ceiling of immoshare's HTTP server: ``python -m bench.bare_server ROOT PORT``.

immoshare must run on cheroot (a fixed part of its design). This is the server
immoshare builds (``gateway.server.make_server``: cheroot with immoshare's threads,
keep-alive and ``sendfile``), with the application swapped for one that does nothing
but compare the bench's one Basic login and read the file: no user lookup, no grant
check, no tracking. What it reaches is the most immoshare could reach on this
machine; the bench shows it beside the peers as ``cheroot``.

The gateway's home is a throwaway folder (its tracking and catalog watcher run on
nothing); the files come from ROOT.
"""

from __future__ import annotations

import base64
import hmac
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

from bench.servers import PASSWORD, USER
from gateway.server import make_server
from gateway.services.home import init_home, open_home
from gateway.serving.delivery import BIG_BLOCK, CountingBody, FileBlocks

NOT_FOUND = [b"not found\n"]


def file_app(root: Path):
    """WSGI app: GET/HEAD of files below ``root`` for the one login; nothing else."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def app(environ, start_response):
        if not hmac.compare_digest(environ.get("HTTP_AUTHORIZATION", ""), expected):
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="bench"')])
            return [b""]
        path = environ["PATH_INFO"].encode("latin-1").decode("utf-8")
        try:
            fd = os.open(os.path.join(root, path.lstrip("/")), os.O_RDONLY)
        except OSError:
            start_response("404 Not Found", [("Content-Length", str(len(NOT_FOUND[0])))])
            return NOT_FOUND
        size = os.fstat(fd).st_size
        start_response(
            "200 OK",
            [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))],
        )
        if environ["REQUEST_METHOD"] == "HEAD" or size <= BIG_BLOCK:
            try:
                return [b"" if environ["REQUEST_METHOD"] == "HEAD" else os.pread(fd, size, 0)]
            finally:
                os.close(fd)
        # as immoshare's file bodies: counted, and sent with sendfile
        return CountingBody(FileBlocks(fd, 0, size, BIG_BLOCK), lambda sent, done: None)

    return app


def main(root: str, port: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bare-home-") as home:
        init_home(Path(home))
        config = open_home(Path(home))
        server = make_server(config, "127.0.0.1", int(port))
        server.wsgi_app = file_app(Path(root))
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.stop).start())
        server.prepare()
        try:
            server.serve()
        finally:
            server.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
