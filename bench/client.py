"""The bench's HTTP client: single timed requests, many concurrent downloads, and the
Python request-rate generator used when ``wrk`` is not installed.

Blocking requests use ``http.client`` (it handles chunked bodies: copyparty streams its
zips and listings that way) with a 1 MiB ``readinto`` buffer, so the client costs far
less than the servers it measures. The concurrent parts use asyncio on raw streams and
accept only Content-Length bodies, which is what every server sends for files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import http.client
import time

_BUFFER = 1024 * 1024


@dataclasses.dataclass
class Result:
    status: int
    nbytes: int
    ttfb: float  # seconds until the status line and headers were in
    elapsed: float  # seconds until the last byte
    headers: dict[str, str]
    body: bytes | None = None
    sha256: str | None = None
    error: str | None = None


class Connection:
    """One keep-alive connection to ``127.0.0.1:port``."""

    def __init__(self, port: int, timeout: float):
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict | None = None,
        body: bytes | None = None,
        keep_body: bool = False,
        digest: bool = False,
    ) -> Result:
        buffer = bytearray(_BUFFER)
        view = memoryview(buffer)
        kept = bytearray() if keep_body else None
        hasher = hashlib.sha256() if digest else None
        started = time.perf_counter()
        self._conn.request(method, path, body=body, headers=headers or {})
        response = self._conn.getresponse()
        ttfb = time.perf_counter() - started
        nbytes = 0
        while True:
            n = response.readinto(buffer)
            if not n:
                break
            nbytes += n
            if kept is not None:
                kept += view[:n]
            if hasher is not None:
                hasher.update(view[:n])
        elapsed = time.perf_counter() - started
        return Result(
            response.status,
            nbytes,
            ttfb,
            elapsed,
            {k.lower(): v for k, v in response.getheaders()},
            bytes(kept) if kept is not None else None,
            hasher.hexdigest() if hasher is not None else None,
        )

    def close(self) -> None:
        self._conn.close()


def fetch(
    server,
    method: str,
    relative: str | None = None,
    *,
    path: str | None = None,
    headers: dict | None = None,
    auth: bool = True,
    timeout: float = 60.0,
    **options,
) -> Result:
    """One request on a fresh connection: ``relative`` to the dataset root, or ``path``."""
    sent = dict(headers or {})
    if auth:
        sent["Authorization"] = server.auth_header
    conn = Connection(server.port, timeout)
    try:
        return conn.request(method, path or server.url_path(relative), headers=sent, **options)
    finally:
        conn.close()


async def _read_response(reader) -> tuple[int, int]:
    """Status and body length of one response whose headers are next on ``reader``."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        raise ValueError("no Content-Length")
    return status, length


async def _download(port: int, path: str, headers: str, timeout: float) -> Result:
    started = time.perf_counter()
    ttfb = 0.0
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        try:
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: bench\r\n{headers}Connection: close\r\n\r\n".encode()
            )
            async with asyncio.timeout(timeout):
                status, length = await _read_response(reader)
                ttfb = time.perf_counter() - started
                got = 0
                while got < length:
                    chunk = await reader.read(_BUFFER)
                    if not chunk:
                        break
                    got += len(chunk)
        finally:
            writer.close()
        error = None if status == 200 and got == length else f"HTTP {status}, {got}/{length} B"
        return Result(status, got, ttfb, time.perf_counter() - started, {}, error=error)
    except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError) as exc:
        return Result(
            0, 0, ttfb, time.perf_counter() - started, {}, error=f"{type(exc).__name__}: {exc}"
        )


def concurrent_downloads(server, paths: list[str], timeout: float) -> list[Result]:
    """GET every path at once, one connection each; never raises for a failed one."""
    headers = f"Authorization: {server.auth_header}\r\n"

    async def run():
        return await asyncio.gather(*(_download(server.port, p, headers, timeout) for p in paths))

    return asyncio.run(run())


async def _hammer(
    port: int, request: bytes, deadline: float, counts: list[int], times: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            status, length = await _read_response(reader)
            await reader.readexactly(length)
            times.append(time.perf_counter() - started)
            counts[0 if 200 <= status < 300 else 1] += 1
    finally:
        writer.close()


def request_load(
    port: int, path: str, headers: dict, connections: int, seconds: float
) -> tuple[float, int, int, float | None]:
    """Requests per second, the number of non-2xx answers or failed connections, the
    requests sent and their 99th-percentile time in ms, ``connections`` keep-alive
    connections hammering ``path`` for ``seconds``."""
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n{lines}\r\n".encode()
    counts = [0, 0]
    times: list[float] = []

    async def run():
        deadline = time.perf_counter() + seconds
        return await asyncio.gather(
            *(_hammer(port, request, deadline, counts, times) for _ in range(connections)),
            return_exceptions=True,
        )

    started = time.perf_counter()
    outcomes = asyncio.run(run())
    elapsed = time.perf_counter() - started
    failed = sum(1 for o in outcomes if isinstance(o, BaseException))
    times.sort()
    p99 = 1000 * times[min(len(times) - 1, int(0.99 * len(times)))] if times else None
    return counts[0] / elapsed, counts[1] + failed, sum(counts), p99
