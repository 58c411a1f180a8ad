"""A real webhook receiver on loopback (``http.server`` in a thread) that checks the
signature of every delivery it gets with the webhook's secret, as a CRM would."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextlib.contextmanager
def serve(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(30)


def verify(secret: str, header: str | None, body: bytes) -> bool:
    """True when ``header`` is ``t=UNIX_TIME,v1=HEX`` with HEX the HMAC-SHA256 of
    ``"UNIX_TIME." + body`` under ``secret`` (INTERFACE.md, "Webhook delivery")."""
    if not header:
        return False
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not fields.get("t", "").isdigit() or "v1" not in fields:
        return False
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), fields["v1"])


class Receiver:
    """What one webhook URL received: each delivery's parsed body and whether its
    signature held. ``status`` is what it answers; ``hang`` makes it hold every
    request until ``release`` is set (``entered`` tells that one is held)."""

    def __init__(self, secret: str = "", *, status: int = 200, hang: bool = False):
        self.secret = secret
        self.status = status
        self.hang = hang
        self.deliveries: list[dict] = []
        self.signatures_ok: list[bool] = []
        self.requests = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def ids(self) -> list[str]:
        with self.lock:
            return [d["id"] for d in self.deliveries]

    def handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests += 1
                if receiver.hang:
                    receiver.entered.set()
                    receiver.release.wait(60)
                    return
                with receiver.lock:
                    receiver.signatures_ok.append(
                        verify(receiver.secret, self.headers.get("X-Immoshare-Signature"), body)
                    )
                    receiver.deliveries.append(json.loads(body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


@contextlib.contextmanager
def receiving(receiver: Receiver, port: int = 0) -> Iterator[str]:
    """Run ``receiver`` on ``127.0.0.1:port`` for the block; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), receiver.handler())
    server.daemon_threads = True
    try:
        with serve(server):
            yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        receiver.release.set()
