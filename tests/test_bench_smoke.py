"""The benchmark harness on tiny data (``python -m bench --smoke``), so it cannot rot.

It runs the real harness end to end: data, every server, every case. Timings are
printed, never asserted; what is asserted is that the run finished, printed one table
row or more per case, and that immoshare served the right bytes.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.tools import HEAVY, IN_CI, REPO, require_tool

pytestmark = [pytest.mark.server, pytest.mark.slow, HEAVY]

CASES = [str(n) for n in range(1, 12)]


def test_bench_smoke_prints_a_row_per_case():
    require_tool("wrk")
    require_tool("nginx")
    require_tool("unzip")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    rows = re.findall(r"^\| (\d+) \| ", out, flags=re.MULTILINE)
    assert sorted(set(rows), key=int) == CASES, out
    assert re.search(r"^content check: immoshare ok\b", out, flags=re.MULTILINE), out
    assert "load generator: wrk" in out
    if IN_CI:  # the peers install from PyPI and nginx-extras is there: none is skipped
        assert "skipped —" not in out, out
        # .ci/run installs PostgreSQL and Redis: the scale-out case must run, not skip
        assert not re.search(r"^\| 9 \| [^|]* \| skipped: ", out, flags=re.MULTILINE), out
    for peer in ("copyparty", "wsgidav", "nginx"):
        if f"{peer}: skipped" not in out:
            assert re.search(rf"; {peer} ok\b", out), out
