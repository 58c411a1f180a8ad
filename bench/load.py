"""Request-rate load: ``wrk`` where installed (Debian package), else the Python
generator of ``bench.client``. The run says which one it used."""

from __future__ import annotations

import re
import shutil
import subprocess

from bench import client

_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def generator_name() -> str:
    if shutil.which("wrk"):
        return "wrk, 1 thread"
    return "Python asyncio generator (wrk not installed)"


def request_rate(
    port: int, path: str, headers: dict, connections: int, seconds: float
) -> tuple[float, int]:
    """Requests per second and errors (non-2xx, socket errors) for keep-alive GETs."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return client.request_rate(port, path, headers, connections, seconds)
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60).stdout
    rate = _RATE.search(out)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate: {out[-500:]}")
    errors = sum(int(n) for n in _NON_2XX.findall(out))
    for match in _SOCKET_ERRORS.findall(out):
        errors += sum(int(n) for n in match)
    return float(rate.group(1)), errors
