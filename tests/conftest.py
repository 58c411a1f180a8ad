"""Shared fixtures: a real home on disk, the real server, the CLI."""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner

from gateway.cli import cli as immoshare_cli
from gateway.services.home import init_home, open_home
from tests.tools import ThreadedServer


@pytest.fixture
def home(tmp_path):
    """A fresh home folder with a real SQLite file and migrations applied."""
    path = tmp_path / "home"
    init_home(path)
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
