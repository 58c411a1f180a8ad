"""What test modules share: the external tools and capabilities they need, waiting
with a deadline, and the real server in a thread or its own process.

Test modules (``test_*.py``) import helpers from modules like this one, never from
each other (``tests/test_layers.py`` checks it).
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import requests

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parents[1]
#: How long a wait may take before it counts as a hang. Generous: it only catches
#: hangs; how fast things happen is measured in ``bench/``, not asserted here.
HANG_SECONDS = 30.0

T = TypeVar("T")

#: Tests that keep both cores or the disk busy for many seconds (100,000 files, a
#: 4 GiB member, the benchmark): under pytest-xdist (``make test``) they run one after
#: another on one worker, beside the light ones, never beside each other.
HEAVY_GROUP = "heavy"
HEAVY = pytest.mark.xdist_group(HEAVY_GROUP)


def require_capability(reason: str) -> None:
    """The machine lacks something the test needs (a tool, root, a mount): skip the
    test here, but fail it in CI, which must run every test."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Path of ``name``; skips the test when missing, but fails it in CI."""
    path = shutil.which(name)
    if path is None:
        require_capability(f"{name} is not installed (Debian package; .ci/run installs it)")
    return path


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = HANG_SECONDS,
    message: str | Callable[[], str] = "the condition never held",
    interval: float = 0.02,
) -> T:
    """Call ``predicate`` until it returns something true, and return that. Fails with
    ``message`` (a string, or a function called then for the details) once ``timeout``
    seconds have passed: the deadline only catches hangs."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"after {timeout:g} s: {message() if callable(message) else message}"
            )
        time.sleep(interval)


def wait_until_unchanged_for(paths, seconds: float) -> None:
    """Wait until none of ``paths`` has changed (its mtime or ctime) for ``seconds``:
    the server trusts what it keeps of a file or folder only once it is that quiet."""

    def quiet() -> bool:
        newest = max(max(os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns) for p in paths)
        return newest < time.time_ns() - int(seconds * 1e9)

    wait_until(quiet, message=f"{paths} kept changing")


#: Where :func:`free_port` picks ports: below the kernel's ephemeral range, so that
#: no outgoing connection or ``bind(port 0)`` (of this or any process) can take a port
#: between the moment it is picked and the moment the server binds it.
PORTS_FROM = 10_000
_port_choice = random.Random()  # own state: a test that seeds ``random`` changes nothing


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32_768, 60_999


def worker_number() -> int:
    """0 for a plain pytest run, N for pytest-xdist's worker ``gwN``."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name[2:]) if name[2:].isdigit() else 0


def free_port() -> int:
    """A loopback port nothing listens on, for a server that binds it soon after.

    Each pytest-xdist worker picks from its own slice of the ports below the ephemeral
    range (a random one, checked by binding it), so two workers never hand out the
    same port and no client connection takes it meanwhile. Where the ephemeral range
    leaves no room, the kernel picks one."""
    ephemeral_low, _ = _ephemeral_ports()
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    width = (ephemeral_low - PORTS_FROM) // workers
    if width >= 100:
        low = PORTS_FROM + worker_number() % workers * width
        for _ in range(200):
            port = _port_choice.randrange(low, low + width)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue  # in use, or still in TIME_WAIT
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, *, verify=True, alive: Callable[[], bool] = lambda: True) -> None:
    """Wait until ``url`` answers at all; fails early once ``alive()`` says the server
    process has gone."""

    def answers() -> bool:
        assert alive(), f"the server of {url} exited before it answered"
        try:
            requests.get(url, timeout=HANG_SECONDS, verify=verify)
        except requests.ConnectionError:
            return False
        return True

    wait_until(answers, message=f"{url} never answered")


def basic(user: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP Basic authentication."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def sha(data: bytes) -> str:
    """The sha256 of ``data`` in hex, as the catalog and the events name a version."""
    return hashlib.sha256(data).hexdigest()


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by openssl in
    ``folder``; clients trust it by ``verify=`` the certificate's path."""
    openssl = require_tool("openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-addext", "basicConstraints=critical,CA:TRUE"],
        check=True,
        capture_output=True,
    )
    return cert, key


class ThreadedServer:
    """The real cheroot server of ``gateway.server`` in a thread, on a free port;
    over TLS where ``config`` has a certificate. ``ready=False``: return once it
    listens, without asking it anything (its database may be locked)."""

    def __init__(self, config, *, ready: bool = True):
        from gateway.server import make_server

        self.server = make_server(config, "127.0.0.1", 0)
        self.server.prepare()
        self.port = self.server.bind_addr[1]
        self.verify = str(config.tls_cert) if config.tls_cert else True
        self.url = f"{'https' if config.tls_cert else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()
        if ready:
            wait_for_http(self.url + "/healthz", verify=self.verify)

    def stop(self):
        self.server.stop()
        self.thread.join(HANG_SECONDS)


class ServerProcess:
    """``immoshare serve`` as its own process, for tests that kill or signal it or
    measure it.

    ``host``: the address it listens on. ``tls``: (certificate, key) to serve HTTPS
    with. ``launcher``: the Python arguments that run the CLI (``-c SCRIPT ARG`` to
    run it under a wrapper). ``open_files`` lowers its limit of open descriptors.
    ``args``: more options of ``serve`` (``("--workers", "2")``)."""

    def __init__(
        self,
        home: Path,
        port: int | None = None,
        env: dict | None = None,
        host: str = "127.0.0.1",
        *,
        tls: tuple[Path, Path] | None = None,
        launcher: tuple[str, ...] = ("-m", "gateway"),
        open_files: int | None = None,
        args: tuple[str, ...] = (),
    ):
        self.port = port or free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.verify = str(tls[0]) if tls else True
        serve = ["serve", "--host", host, "--port", str(self.port)]
        if tls:
            serve += ["--cert", str(tls[0]), "--key", str(tls[1])]
        serve += args
        self.log_path = home / f"serve-{self.port}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, *launcher, "--home", str(home), *serve],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        if open_files is not None:  # before it serves anything
            resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (open_files, open_files))
        try:
            wait_for_http(
                self.url + "/healthz", verify=self.verify, alive=lambda: self.proc.poll() is None
            )
        except BaseException:
            self.stop()
            raise

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
            self.proc.wait(HANG_SECONDS)
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
