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
from tests.mailbox import smtp_server
from tests.tools import ThreadedServer, free_port, require_tool

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
