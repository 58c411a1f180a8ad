"""The benchmark harness on tiny data (``python -m bench --smoke``), so it cannot rot.

It runs the real harness end to end, once for the module: data, every server, every
case. Timings are printed, never asserted; what is asserted is that the run
finished, printed one table row or more per case, that every configuration of cases
3, 12 and 13 has its row with numbers (and a spread where it has a target), and that
every server, the ones case 13 starts included, served the right bytes.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bench.profiles import SMOKE
from tests.tools import HEAVY, IN_CI, REPO, require_tool

pytestmark = [pytest.mark.server, pytest.mark.slow, HEAVY]

CASES = [str(n) for n in range(1, 14)]
BIG = f"GET of {SMOKE.big_bytes // 2**20} MiB"
NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?$")
SPREAD = re.compile(r"^-?[\d,.]+(–-?[\d,.]+)?$")


@pytest.fixture(scope="module")
def smoke() -> str:
    require_tool("wrk")
    require_tool("nginx")
    require_tool("unzip")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def table(out: str) -> list[dict[str, str]]:
    """The printed table's rows, each a dict by column head."""
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    head = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [
        dict(zip(head, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        for line in lines[1:]
    ]


def peer_ran(out: str, peer: str) -> bool:
    return not re.search(rf"^{re.escape(peer)}: skipped", out, flags=re.MULTILINE)


def find(rows: list[dict[str, str]], case: str, *words: str) -> list[dict[str, str]]:
    return [r for r in rows if r["case"] == case and all(w in r["metric"] for w in words)]


def assert_numbers(row: dict[str, str], *columns: str) -> None:
    for column in columns:
        assert NUMBER.match(row[column]), (column, row)


def test_bench_smoke_prints_a_row_per_case(smoke):
    out = smoke
    rows = re.findall(r"^\| (\d+) \| ", out, flags=re.MULTILINE)
    assert sorted(set(rows), key=int) == CASES, out
    assert re.search(r"^content check: immoshare ok\b", out, flags=re.MULTILINE), out
    assert "load generator: wrk" in out
    if IN_CI:  # the peers install from PyPI and nginx-extras is there: none is skipped
        assert "skipped —" not in out, out
        # .ci/run installs PostgreSQL and Redis: the scale-out case must run, not skip
        assert not re.search(r"^\| 9 \| [^|]* \| skipped: ", out, flags=re.MULTILINE), out
    for peer in ("copyparty", "copyparty-u", "wsgidav", "nginx"):
        if peer_ran(out, peer):
            assert re.search(rf"; {peer} ok\b", out), out


def test_small_get_in_every_configuration_has_its_rows(smoke):
    rows = table(smoke)
    for threads in ("-t1", "-t2"):
        for where in ("case folder", "large property"):
            for kind in ("(req/s)", "(ms)"):
                found = [r for r in find(rows, "12", threads, where) if r["metric"].endswith(kind)]
                targets = sorted(r["target"].rsplit(" ", 1)[1] for r in found)
                assert targets == ["copyparty", "copyparty-u"], (threads, where, kind, found)
                for row in found:
                    peer = row["target"].rsplit(" ", 1)[1]
                    assert_numbers(row, "immoshare")
                    if peer_ran(smoke, peer):
                        assert_numbers(row, peer, f"imm/{peer}")
                        assert SPREAD.match(row["spread"]), row
    p99 = [r for r in find(rows, "12", "p99 latency") if r["target"].startswith("<= 1×")]
    assert len(p99) == 8, p99


def test_big_get_is_measured_against_both_copyparty_configurations(smoke):
    rows = table(smoke)
    for where in (BIG, f"GET of {SMOKE.large_big_bytes // 2**20} MiB, in the large property"):
        found = [r for r in find(rows, "3", where) if r["metric"] == f"{where} (MB/s)"]
        targets = sorted(r["target"].rsplit(" ", 1)[1] for r in found)
        assert targets == ["copyparty", "copyparty-u"], found
        for row in found:
            assert_numbers(row, "immoshare")
            if peer_ran(smoke, row["target"].rsplit(" ", 1)[1]):
                assert SPREAD.match(row["spread"]), row


def test_workers_case_compares_one_and_two_workers_with_copyparty_j2(smoke):
    rows = table(smoke)
    assert re.search(
        r"content check: --workers 1 ok; --workers 2 ok; copyparty -j 2 ok", smoke
    ) or (not peer_ran(smoke, "copyparty") and "--workers 2 ok" in smoke), smoke
    for what in ("4 KiB GET", "p99 latency", "server CPU per request, 4 KiB", BIG):
        for workers in ("--workers 1 vs", "--workers 2 vs"):
            (row,) = [r for r in find(rows, "13", what, workers) if r["metric"].startswith(what)]
            assert_numbers(row, "immoshare")
            if peer_ran(smoke, "copyparty"):
                assert_numbers(row, "copyparty")
    (scaling,) = find(rows, "13", "--workers 2 / --workers 1")
    assert_numbers(scaling, "immoshare")
    assert scaling["target"] == ">= 1.3 ×" and SPREAD.match(scaling["spread"]), scaling
    # copyparty's -j worker processes count towards its CPU: more than one process
    counted = re.search(r"processes counted for CPU: (.*)", smoke).group(1)
    assert re.search(r"--workers 2 [3-9]\b", counted), counted
    if peer_ran(smoke, "copyparty"):
        assert re.search(r"copyparty -j 2 [3-9]\b", counted), counted
