"""The litmus WebDAV suite against an agent's property share on the real server."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.factories import AGENT_PASSWORD, make_agent, make_property
from tests.tools import require_tool

pytestmark = [pytest.mark.server, pytest.mark.litmus]

SUITES = ("basic", "copymove", "props", "locks", "http")
SUMMARY = re.compile(r"summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed")


def test_litmus_suites_pass(server, config, tmp_path):
    litmus = require_tool("litmus")
    make_agent()
    make_property(config, "obj-1", "Litmus")
    result = subprocess.run(
        [litmus, "-k", f"{server.url}/dav/obj-1/", "anna", AGENT_PASSWORD],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"TESTS": " ".join(SUITES), "PATH": "/usr/bin:/bin"},
    )
    summaries = {m[0]: (int(m[1]), int(m[2]), int(m[3])) for m in SUMMARY.findall(result.stdout)}
    assert set(summaries) == set(SUITES), result.stdout[-3000:]
    for suite, (run, passed, failed) in summaries.items():
        assert failed == 0 and passed == run, f"{suite}: {result.stdout[-3000:]}"
    assert "WARNING" not in result.stdout
