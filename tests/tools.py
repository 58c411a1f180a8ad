"""Finding the external tools tests drive, and the real-server helpers."""

from __future__ import annotations

import os
import resource
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
    """``immoshare serve`` as its own process, for tests that kill or signal it or
    measure it; ``open_files`` lowers its limit of open descriptors."""

    def __init__(
        self,
        home: Path,
        port: int | None = None,
        env: dict | None = None,
        host: str = "127.0.0.1",
        *,
        open_files: int | None = None,
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
        if open_files is not None:  # before it serves anything
            resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (open_files, open_files))
        wait_for_http(self.url + "/healthz")

    @property
    def open_files(self) -> int:
        """Descriptors the server process has open now."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self, sig=None):
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            self.proc.wait(15)
        self.log.close()


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


class Sampler:
    """Calls ``measure()`` every few milliseconds while a block runs; ``peak`` is the
    highest value seen."""

    def __init__(self, measure, interval: float = 0.005):
        self.measure = measure
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while True:
            try:
                self.peak = max(self.peak, self.measure())
            except (FileNotFoundError, ProcessLookupError):
                return  # the process is gone
            if self._stop.wait(self.interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class PeakMemory(Sampler):
    """The highest resident set size of a process while a block runs: the kernel's
    own high-water mark (reset first), or frequent samples where that is not allowed."""

    def __init__(self, pid: int):
        super().__init__(lambda: rss_bytes(pid, "VmRSS"))
        self.pid = pid
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM
            self._kernel = True
        except OSError:
            self._kernel = False

    def __exit__(self, *exc):
        super().__exit__(*exc)
        if self._kernel:
            self.peak = max(self.peak, rss_bytes(self.pid, "VmHWM"))
