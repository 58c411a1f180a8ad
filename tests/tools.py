"""Finding the external tools tests drive, and the real-server helpers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parents[1]


def require_tool(name: str) -> str:
    """Path of ``name``; skips the test when missing, but fails it in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package; .ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class ThreadedServer:
    """The real cheroot server of ``gateway.server`` in a thread, on a free port."""

    def __init__(self, config):
        from gateway.server import make_server

        self.server = make_server(config, "127.0.0.1", 0)
        self.server.prepare()
        self.port = self.server.bind_addr[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()
        wait_for_http(self.url + "/healthz")

    def stop(self):
        self.server.stop()
        self.thread.join(10)


class ServerProcess:
    """``immoshare serve`` as its own process, for tests that kill or signal it."""

    def __init__(
        self,
        home: Path,
        port: int | None = None,
        env: dict | None = None,
        host: str = "127.0.0.1",
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / f"serve-{self.port}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "--home",
                str(home),
                "serve",
                "--host",
                host,
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        wait_for_http(self.url + "/healthz")

    def stop(self, sig=None):
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            self.proc.wait(15)
        self.log.close()
