"""The server process: sized for many downloads, stops cleanly on signals."""

from __future__ import annotations

import signal

import pytest
import requests

from tests.tools import ServerProcess

pytestmark = pytest.mark.server


def test_pool_sized_for_200_concurrent_downloads(config):
    from gateway.server import make_server

    server = make_server(config, "127.0.0.1", 0)
    assert server.requests.min >= 200
    assert server.keep_alive_conn_limit >= 200


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_on_signal(home, sig):
    proc = ServerProcess(home)
    assert requests.get(proc.url + "/healthz").text == "ok"
    proc.stop(sig)
    assert proc.proc.returncode == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(proc.url + "/healthz", timeout=2)
