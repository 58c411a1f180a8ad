"""A server under test: its process, where it serves the data, its login, its memory.

Every server listens on 127.0.0.1 only and serves the dataset root at ``prefix``.
Memory comes from ``/proc/PID/status`` (VmRSS, VmHWM) and CPU time from
``/proc/PID/stat``, summed over the process and its descendants (nginx's workers,
worker processes); ``reset_peak`` rewinds VmHWM through ``clear_refs``.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

from bench import client

USER, PASSWORD = "bench", "bench-pw-6"  # the peers' one account


class StartError(RuntimeError):
    """A server did not come up; the message says why, for the skip line."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class Server:
    name: str
    port: int
    prefix: str  # URL path of the dataset root, "" or "/view"
    auth: tuple[str, str]
    proc: subprocess.Popen
    log: Path
    version: str = ""

    @property
    def auth_header(self) -> str:
        raw = base64.b64encode(":".join(self.auth).encode()).decode()
        return f"Basic {raw}"

    def url_path(self, relative: str) -> str:
        return urllib.parse.quote(f"{self.prefix}/{relative}")

    def url(self, relative: str) -> str:
        return f"http://127.0.0.1:{self.port}{self.url_path(relative)}"

    def pids(self) -> list[int]:
        """The process and all its descendants (nginx's workers, the worker processes
        of ``immoshare serve --workers`` and of ``copyparty -j``)."""
        parents: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                ppid = _status(int(entry.name)).get("PPid")
                if ppid:
                    parents.setdefault(int(ppid), []).append(int(entry.name))
        pids, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo += parents.get(pid, [])
        return pids

    def rss_mib(self) -> float:
        return sum(_kib(_status(p).get("VmRSS")) for p in self.pids()) / 1024

    def peak_mib(self) -> float:
        return sum(_kib(_status(p).get("VmHWM")) for p in self.pids()) / 1024

    def reset_peak(self) -> None:
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as fh:
                    fh.write("5")
            except OSError:
                pass

    def wait_ready(self, relative: str, timeout: float = 60.0) -> None:
        """Until an authenticated GET of ``relative`` answers 200."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"exited with {self.proc.returncode}; see {self.log}")
            try:
                status = client.fetch(self, "GET", relative, timeout=5).status
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        self.stop()
        raise StartError(f"not ready after {timeout:.0f} s ({last}); see {self.log}")

    def cpu_seconds(self) -> float:
        return sum(_cpu_ticks(p) for p in self.pids()) / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, timeout: float) -> float:
        """Until the server uses under 5 % of a core for a second (immoshare hashes every
        file into its catalog at start-up); returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            before = self.cpu_seconds()
            time.sleep(1.0)
            if self.cpu_seconds() - before < 0.05:
                break
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def spawn(name: str, argv: list, log: Path, *, env: dict | None = None) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(a) for a in argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )


def _status(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return dict(line.rstrip("\n").split(":\t", 1) for line in fh if ":\t" in line)
    except OSError:
        return {}


def _cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` in clock ticks (fields 14 and 15 of its stat line)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _kib(value: str | None) -> int:
    return int(value.split()[0]) if value else 0
