"""Zipping a 2 GiB share streams with flat memory in the server process."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
import requests

from gateway.services import grants
from tests.factories import make_contact, make_grant, make_property
from tests.tools import PeakMemory, ServerProcess, rss_bytes

pytestmark = [pytest.mark.server, pytest.mark.slow]

FILES = 200
FILE_SIZE = (2 * 1024**3) // FILES  # 2 GiB in all, sparse on disk
MAX_GROWTH = 50 * 1024 * 1024


def test_zip_of_a_2_gib_share_streams_with_flat_memory(config, home):
    make_property(config, "big", "Großes Objekt")
    folder = config.properties_dir / "big"
    for number in range(FILES):
        with open(folder / f"Plan {number:03d} – Größe.pdf", "wb") as fh:
            fh.truncate(FILE_SIZE)
    make_contact("4711")
    link = urlsplit(make_grant(config, "big", "4711").link).path
    assert grants.get_grant("big", "4711").active
    server = ServerProcess(home)
    try:
        with requests.Session() as http:
            zip_url = f"{server.url}{link}/zip"
            assert http.get(server.url + link).status_code == 200  # warm up
            with http.get(zip_url, stream=True) as warm:
                for _ in warm.iter_content(1024 * 1024):
                    break
            baseline = rss_bytes(server.proc.pid, "VmRSS")
            received = 0
            tail = b""
            with PeakMemory(server.proc.pid) as memory:
                with http.get(zip_url, stream=True) as r:
                    assert r.status_code == 200
                    length = int(r.headers["Content-Length"])
                    for chunk in r.iter_content(1024 * 1024):
                        received += len(chunk)
                        tail = (tail + chunk)[-65536:]
        assert length > FILES * FILE_SIZE
        assert received == length
        assert b"PK\x05\x06" in tail  # the end of the central directory arrived
        growth = memory.peak - baseline
        print(
            f"zip of {received / 1024**3:.2f} GiB: server RSS {baseline / 1024**2:.1f} MiB, "
            f"peak growth {growth / 1024**2:.1f} MiB"
        )
        assert growth < MAX_GROWTH
    finally:
        server.stop()
        for path in folder.iterdir():
            os.unlink(path)
