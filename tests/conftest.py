"""Shared fixtures: a real home on disk, the real server, the CLI."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import requests
from click.testing import CliRunner

from gateway.cli import cli as immoshare_cli
from gateway.services.home import init_home, open_home
from tests.factories import make_consent_texts
from tests.mailbox import smtp_server
from tests.tools import HEAVY_GROUP, ThreadedServer, free_port, require_tool

try:  # pytest 9.2 and later keep an item's id here
    from _pytest.nodeid import NodeId
except ImportError:
    NodeId = None

pytest_plugins = ["tests.backends"]


#: Modules that always run on both databases, marked or not: the core that must
#: hold on PostgreSQL too (WebDAV access and tracking).
EACH_DATABASE_MODULES = re.compile(r"tests\.test_(dav_access|tracking_\w+)")


def pytest_generate_tests(metafunc):
    """Tests marked ``each_database`` run on SQLite and again on PostgreSQL."""
    each = metafunc.definition.get_closest_marker(
        "each_database"
    ) or EACH_DATABASE_MODULES.fullmatch(metafunc.module.__name__)
    if each and "database_url" in metafunc.fixturenames:
        metafunc.parametrize(
            "database_url",
            ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
            indirect=True,
        )


#: Fixture scopes that pytest-xdist would build once per worker, not once per run.
SHARED_SCOPES = ("module", "class")


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """``make test`` runs on pytest-xdist workers (``--dist loadgroup``).

    Before pytest-xdist reads the groups: the tests of a module that share a module-
    or class-scoped fixture (a built wheel, a browser) join one group, so the fixture
    is built once; the heavy group (``tests.tools.HEAVY``), the longest unit of work,
    is handed out first.

    After: pytest-xdist tells its scheduler an item's group by appending ``@group`` to
    the item's id, which pytest 9.2 keeps elsewhere, so the groups were silently lost
    (an open pytest-xdist bug report). Append it where pytest now keeps it, and stop the run if
    a group still does not show: tests that must not run side by side would."""
    for item in items:
        if item.get_closest_marker("xdist_group") or not hasattr(item, "_fixtureinfo"):
            continue
        definitions = item._fixtureinfo.name2fixturedefs.values()
        if any(defs and defs[-1].scope in SHARED_SCOPES for defs in definitions):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    grouping = getattr(config.option, "loadgroup", False)  # set on xdist workers
    if grouping:
        items.sort(key=lambda item: _group_names(item) != [HEAVY_GROUP])
    result = yield
    if grouping:
        for item in items:
            names = _group_names(item)
            suffix = "@" + "_".join(names)
            if not names or item.nodeid.endswith(suffix):
                continue
            if NodeId is not None and isinstance(getattr(item, "_id", None), NodeId):
                item._id = NodeId.parse(str(item._id) + suffix)
            if not item.nodeid.endswith(suffix):
                raise pytest.UsageError(
                    f"--dist loadgroup cannot group {item.nodeid} with this pytest-xdist "
                    "and pytest; run without -n, or mend the grouping in tests/conftest.py"
                )
    return result


def _group_names(item) -> list[str]:
    """The sorted ``xdist_group`` names of ``item``, as pytest-xdist joins them."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return sorted(names)


@pytest.fixture
def database_url(request):
    """None (SQLite in the home), or a fresh PostgreSQL database's URL."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("postgres_url")
    return None


@pytest.fixture
def home(tmp_path, database_url):
    """A fresh home folder with a real database (SQLite file unless the test runs on
    PostgreSQL) and migrations applied."""
    path = tmp_path / "home"
    if database_url:
        path.mkdir()
        (path / "immoshare.yaml").write_text(f"database_url: {database_url}\n")
    init_home(path)
    # Tests of other things consent without a confirmation mail; the durable-medium
    # rule (default on) is tested where it is turned on (tests/test_durable_medium.py).
    with open(path / "immoshare.yaml", "a", encoding="utf-8") as fh:
        fh.write("consent_requires_mail: false\n")
    return path


@pytest.fixture
def config(home):
    return open_home(home)


@pytest.fixture
def consent_texts(config):
    """Complete consent texts in the home: ``grant`` on a property that asks for
    consent refuses while only the shipped samples exist."""
    return make_consent_texts()


@pytest.fixture
def server(config):
    """The real cheroot server on a free loopback port."""
    running = ThreadedServer(config)
    yield running
    running.stop()


@pytest.fixture
def cli(home):
    """Run ``immoshare --home HOME ...``; returns click's Result."""
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(immoshare_cli, ["--home", str(home), *args], input=input)

    return run


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def smtp_port():
    """A free loopback port for an SMTP server (settings name it before it starts)."""
    return free_port()


@pytest.fixture
def inbox(smtp_port):
    """A real SMTP server on ``smtp_port`` (``tests/mailbox.py``); yields its inbox."""
    with smtp_server(smtp_port) as received:
        yield received


@pytest.fixture
def rclone(tmp_path, server):
    """Run rclone with remotes ``agent:`` and ``contact:`` defined in the environment."""
    executable = require_tool("rclone")
    config_file = tmp_path / "rclone.conf"
    config_file.write_text("")

    def obscure(password):
        return subprocess.run(
            [executable, "obscure", password], capture_output=True, text=True, check=True
        ).stdout.strip()

    def configure(remote, url, user, password):
        env = {
            "TYPE": "webdav",
            "URL": url,
            "VENDOR": "other",
            "USER": user,
            "PASS": obscure(password),
        }
        remotes.update({f"RCLONE_CONFIG_{remote.upper()}_{k}": v for k, v in env.items()})

    remotes: dict[str, str] = {}

    def run(*args, check=True):
        result = subprocess.run(
            [
                executable,
                "--config",
                str(config_file),
                "--low-level-retries",
                "1",
                "--retries",
                "1",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **remotes},
        )
        if check:
            assert result.returncode == 0, result.stderr[-3000:]
        return result

    run.configure = configure
    return run


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (its pages come and
    go per test)."""
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()
