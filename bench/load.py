"""Request-rate load: ``wrk`` where installed (Debian package), else the Python
generator of ``bench.client``. The run says which one it used.

One measurement gives the rate, the errors, the number of requests (for the server
CPU per request) and, with ``latency``, the 99th percentile of the response time
(wrk ``--latency``: every request is recorded, no sampling).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess

from bench import client

_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_REQUESTS = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_P99 = re.compile(r"^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TO_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclasses.dataclass(frozen=True)
class Load:
    rate: float  # requests per second
    errors: int  # non-2xx answers and socket errors
    requests: int
    p99_ms: float | None  # with ``latency`` only


def generator_name() -> str:
    if shutil.which("wrk"):
        return "wrk, 1 thread (cases 12 and 13: 1 and 2 threads, --latency)"
    return "Python asyncio generator (wrk not installed)"


def measure(
    port: int,
    path: str,
    headers: dict,
    connections: int,
    seconds: float,
    *,
    threads: int = 1,
    latency: bool = False,
) -> Load:
    """Keep-alive GETs of ``path`` on ``connections`` connections for ``seconds``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        rate, errors, requests, p99 = client.request_load(port, path, headers, connections, seconds)
        return Load(rate, errors, requests, p99 if latency else None)
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    argv += ["--timeout", "10s"] + (["--latency"] if latency else [])
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60).stdout
    return parse_wrk(out, latency)


def parse_wrk(out: str, latency: bool = False) -> Load:
    """The numbers of one wrk run from what it printed."""
    rate = _RATE.search(out)
    requests = _REQUESTS.search(out)
    if rate is None or requests is None:
        raise RuntimeError(f"wrk printed no rate: {out[-500:]}")
    errors = sum(int(n) for n in _NON_2XX.findall(out))
    for match in _SOCKET_ERRORS.findall(out):
        errors += sum(int(n) for n in match)
    p99 = None
    if latency:
        found = _P99.search(out)
        if found is None:
            raise RuntimeError(f"wrk printed no 99th percentile: {out[-500:]}")
        p99 = float(found.group(1)) * _TO_MS[found.group(2)]
    return Load(float(rate.group(1)), errors, int(requests.group(1)), p99)


def request_rate(
    port: int, path: str, headers: dict, connections: int, seconds: float
) -> tuple[float, int]:
    """Requests per second and errors (non-2xx, socket errors) for keep-alive GETs."""
    got = measure(port, path, headers, connections, seconds)
    return got.rate, got.errors
