"""Over TLS, files never go out by ``sendfile`` (it would bypass the encryption):
a large download through a TLS server is byte-exact, over WebDAV and the web."""

from __future__ import annotations

import os

import requests

BIG = os.urandom(12 * 1024 * 1024 + 5)


def test_large_downloads_over_tls_are_byte_exact(world, tls_server):
    url, cert = tls_server.url, tls_server.verify
    (world.home / "properties" / "obj-1" / "Rundgang.mp4").write_bytes(BIG)
    dav = requests.get(url + "/view/obj-1/Rundgang.mp4", auth=world.contact, verify=cert)
    assert dav.status_code == 200 and dav.content == BIG
    web = requests.get(f"{url}/s/{world.link}/download/Rundgang.mp4", verify=cert)
    assert web.status_code == 200 and web.content == BIG
