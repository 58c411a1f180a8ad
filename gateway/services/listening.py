"""Where the running ``serve`` of a home listens, so that printed links open.

Without the ``base_url`` setting, the links that ``grant``, ``link``, ``preview``,
``agent add`` and ``demo`` print point at the server that runs, not at the configured
defaults: ``serve`` records its listen address (scheme, host, port) in
``listening.json`` in the home once its socket listens, written atomically, and
removes it when it stops cleanly. A record counts only on the machine that wrote it
and while the process that wrote it lives, so a killed server's record is ignored.

A server listening on every address (``0.0.0.0``, ``::``) is printed as this machine's
loopback address: a link that opens here, never a host name that may not resolve.
Only ``base_url`` knows the name contacts reach the server by, so ``serve`` warns when
it listens beyond loopback without it (:func:`exposure_warning`). Several processes
serving one home overwrite each other's record: they run behind a proxy, and
``base_url`` names it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import ipaddress
import json
import os
import socket
import tempfile
from pathlib import Path

from gateway.errors import SetupError

LISTENING_FILE = "listening.json"
MAX_RECORD_BYTES = 4096
EVERY_ADDRESS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


@dataclasses.dataclass(frozen=True)
class ListenAddress:
    """What a server listens on: ``http`` or ``https``, the bound host and port."""

    scheme: str
    host: str
    port: int

    @property
    def origin(self) -> str:
        """``scheme://host:port`` for printed links; every-address hosts as loopback."""
        return f"{self.scheme}://{printable_host(self.host)}:{self.port}"


def printable_host(host: str) -> str:
    """``host`` as it goes into a URL: every-address hosts as loopback, IPv6 bracketed."""
    host = EVERY_ADDRESS.get(host, host)
    return f"[{host}]" if ":" in host else host


def is_loopback(host: str) -> bool:
    """True when only this machine can connect to ``host``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(address: ListenAddress, base_url: str | None) -> str | None:
    """The one line ``serve`` prints when it listens beyond this machine without
    ``base_url``: printed links then name loopback or a bare address; None otherwise."""
    if base_url or is_loopback(address.host):
        return None
    return (
        f"warning: listening on {address.host or '*'} without base_url: links print as "
        f"{address.origin}; set base_url to the address contacts reach "
        "(immoshare.yaml or IMMOSHARE_BASE_URL)"
    )


def cannot_listen(host: str, port: int, exc: OSError) -> SetupError:
    """The one line ``serve`` stops with when ``host:port`` cannot be had."""
    if exc.errno == errno.EADDRINUSE:
        return SetupError(f"port {port} on {host} is in use — choose another with --port")
    return SetupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def record_listening(home: Path, address: ListenAddress) -> None:
    """Record ``address`` as where this process serves ``home`` (atomic replace)."""
    record = {
        **dataclasses.asdict(address),
        "pid": os.getpid(),
        "machine": socket.gethostname(),
    }
    fd, temporary = tempfile.mkstemp(prefix=f".{LISTENING_FILE}.", dir=home)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
        os.replace(temporary, home / LISTENING_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def clear_listening(home: Path) -> None:
    """Remove the record if this process wrote it (another server may have replaced it)."""
    record = _read_record(home)
    if record is not None and record.get("pid") == os.getpid() and _this_machine(record):
        with contextlib.suppress(FileNotFoundError):
            (home / LISTENING_FILE).unlink()


def running_address(home: Path) -> ListenAddress | None:
    """The address a live server of ``home`` on this machine listens on, if any."""
    record = _read_record(home)
    if record is None or not _this_machine(record) or not _alive(record.get("pid")):
        return None
    scheme, host, port = record.get("scheme"), record.get("host"), record.get("port")
    if scheme not in ("http", "https") or not isinstance(host, str):
        return None
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        return None
    return ListenAddress(scheme, host, port)


def _read_record(home: Path) -> dict | None:
    try:
        with open(home / LISTENING_FILE, "rb") as fh:
            raw = fh.read(MAX_RECORD_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_RECORD_BYTES:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _this_machine(record: dict) -> bool:
    return record.get("machine") == socket.gethostname()


def _alive(pid) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, run by another user
        return True
    return True
