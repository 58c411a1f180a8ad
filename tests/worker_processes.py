"""Seeing the worker processes of ``serve --workers N`` from outside, through
``/proc`` only (Linux): which processes a server's parent forked, which of them holds
the server's end of a given TCP connection, and which watches files with inotify.
No header or route of the product tells which worker answered."""

from __future__ import annotations

import http.client
import os
import time
from pathlib import Path

from tests.tools import HANG_SECONDS


def child_pids(parent: int) -> set[int]:
    """The live (not zombie) processes whose parent is ``parent``."""
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(name)", which may hold spaces
        if int(fields[1]) == parent and fields[0] != "Z":
            children.add(int(entry))
    return children


def is_running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                return fields[9]
    return None


def _holds(pid: int, target: str) -> bool:
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}") == target:
                return True
        except OSError:
            continue
    return False


def serving_pid(connection: http.client.HTTPConnection, pids: set[int]) -> int | None:
    """Which of ``pids`` holds the server's end of ``connection`` (connected, with
    an answer read, so that a worker has accepted it)."""
    client_port = connection.sock.getsockname()[1]
    inode = _socket_inode(connection.port, client_port)
    if inode is None:
        return None
    return next((pid for pid in pids if _holds(pid, f"socket:[{inode}]")), None)


def connection_to_each(port: int, pids: set[int]) -> dict[int, http.client.HTTPConnection]:
    """A keep-alive connection served by each of ``pids``: connections are opened
    (and kept, so each new one must be accepted anew) until every worker has one;
    the others are closed."""
    found: dict[int, http.client.HTTPConnection] = {}
    extra = []
    deadline = time.monotonic() + HANG_SECONDS
    while set(found) != pids:
        if time.monotonic() > deadline:
            raise AssertionError(f"connections reached only {sorted(found)} of {sorted(pids)}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_SECONDS)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
        pid = serving_pid(connection, pids)
        if pid is not None and pid not in found:
            found[pid] = connection
        else:
            extra.append(connection)
    for connection in extra:
        connection.close()
    return found


def watches_files(pid: int) -> bool:
    """Whether ``pid`` has an inotify instance open (the catalog watcher's)."""
    return _holds(pid, "anon_inode:inotify")
