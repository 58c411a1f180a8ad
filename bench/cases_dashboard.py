"""Case 10: the agents' dashboard's tracking view of one property over a million events.

The events home of case 8 (``cases_tracking.events_home``) is served by its own
``immoshare serve`` process; an agent signs in through the login form like a
browser, then the property's tracking page is fetched over HTTP: the newest page,
and an older one by the keyset cursor (``before=``) that the "older events" link
carries. Each sample is one request, timed from sending to the last byte.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time

import requests

from bench.cases_tracking import SHOWN, events_home
from bench.context import Bench, progress
from bench.report import Row, Target
from bench.servers import StartError, free_port, spawn

AGENT = "bench-agent"
PASSWORD = "bench-agent-password"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_OLDER = re.compile(r'href="([^"]*before=\d+[^"]*)" data-testid="older"')


def _cli(home, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "--home", str(home), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _start(bench: Bench, home) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = bench.work / "logs" / "dashboard-serve.log"
    proc = spawn("immoshare", [sys.executable, "-m", "gateway", "--home", home, "serve",
                               "--port", port], log)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + bench.profile.request_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"serve exited with {proc.returncode}; see {log}")
        try:
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                return proc, base
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise StartError(f"serve not ready; see {log}")


def _sign_in(base: str, timeout: float) -> requests.Session:
    session = requests.Session()
    form = session.get(base + "/agent/login", timeout=timeout)
    answer = session.post(
        base + "/agent/login",
        data={"user": AGENT, "password": PASSWORD, "csrf": _CSRF.search(form.text).group(1)},
        allow_redirects=False,
        timeout=timeout,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"dashboard login answered {answer.status_code}")
    return session


def _timed_get(session: requests.Session, url: str, timeout: float) -> tuple[float, str]:
    started = time.perf_counter()
    answer = session.get(url, timeout=timeout)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200 or 'data-testid="event-row"' not in answer.text:
        raise RuntimeError(f"{url} answered {answer.status_code} without events")
    return elapsed, answer.text


def case_dashboard(bench: Bench) -> list[Row]:
    n = bench.profile.events
    newest = Row(
        "10", f"dashboard tracking page, one property, {n:,} events", "ms", Target("<", 300)
    )
    older = Row("10", f"… its next page (keyset, before=), {n:,} events", "ms", Target("<", 300))
    home = events_home(bench)
    if _cli(home, "agent", "list").stdout.find(AGENT) < 0:
        added = _cli(home, "agent", "add", AGENT, "--password-stdin", stdin=PASSWORD + "\n")
        if added.returncode != 0:
            raise RuntimeError(f"agent add: {added.stderr.strip()}")
    progress("  serving the events home for the dashboard …")
    try:
        proc, base = _start(bench, home)
    except StartError as exc:
        newest.skipped = str(exc)
        return [newest]
    timeout = bench.profile.request_timeout
    try:
        session = _sign_in(base, timeout)
        page = f"{base}/agent/tracking?property={SHOWN}"
        _, text = _timed_get(session, page, timeout)  # warm: templates, first queries
        link = _OLDER.search(text)
        for _ in range(bench.profile.page_repeats * bench.rounds):
            newest.add("immoshare", _timed_get(session, page, timeout)[0])
            if link:
                older.add(
                    "immoshare",
                    _timed_get(session, base + html.unescape(link.group(1)), timeout)[0],
                )
        if not link:
            older.skipped = "the property has a single page of events at this size"
    finally:
        proc.terminate()
        proc.wait(15)
    return [newest, older]
