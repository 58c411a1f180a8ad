"""Thumbnails of hostile images and PDFs cost bounded memory: a 59-megapixel PNG of a
few kilobytes, asked for eight times at once, leaves the server's memory flat and
gets the document icon; a normal image gets a real thumbnail, made once and then
read from the cache; a file asked for many times at once is rendered once, and
requests that find every rendering slot busy get 503 with ``Retry-After``."""

from __future__ import annotations

import concurrent.futures
import io
import re
import struct
import threading
import zlib
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests
from PIL import Image

from gateway.services import thumbnails
from tests.factories import make_contact, make_grant, make_property
from tests.tools import PeakMemory, ServerProcess, rss_bytes

pytestmark = pytest.mark.server

MAX_GROWTH = 100 * 1024 * 1024
CONCURRENT = 8


def write_png(path: Path, width: int, height: int, *, truncate: bool = False) -> None:
    """A PNG of one colour, compressed row by row: never the picture in memory."""
    row = b"\x00" + bytes((200, 30, 30)) * width
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    if truncate:
        data = data[: len(data) // 2]
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        for kind, body in (
            (b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
            (b"IDAT", data),
            (b"IEND", b""),
        ):
            out.write(struct.pack(">I", len(body)) + kind + body)
            out.write(struct.pack(">I", zlib.crc32(kind + body)))


def write_pdf(path: Path, media_box: str) -> None:
    """A one-page PDF with that MediaBox and a little drawing."""
    content = b"0 0 1 rg 10 10 100 100 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [" + media_box.encode() + b"] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(out)


@pytest.fixture
def share(config):
    """A property with a normal photo and a plan, and the contact's link path."""
    make_property(config, "obj-1")
    folder = config.properties_dir / "obj-1"
    Image.new("RGB", (1200, 800), (30, 120, 200)).save(folder / "foto.jpg")
    Image.new("RGB", (595, 842), "white").save(folder / "plan.pdf")
    make_contact("4711")
    return urlsplit(make_grant(config, "obj-1", "4711").link).path


def thumb(base: str, link: str, name: str) -> requests.Response:
    return requests.get(f"{base}{link}/thumb/{quote(name)}", allow_redirects=False)


def is_icon(response: requests.Response) -> bool:
    """Redirected to the file type's icon: no thumbnail can be made."""
    location = response.headers.get("Location", "")
    return response.status_code == 302 and re.search(r"/static/(icons/\w+|file)\.svg", location)


def cache_files(config, pattern: str = "*.jpg") -> list[Path]:
    return sorted((config.home / thumbnails.CACHE_DIR).rglob(pattern))


def is_real_thumbnail(response: requests.Response) -> bool:
    if response.status_code != 200 or response.headers["Content-Type"] != "image/jpeg":
        return False
    image = Image.open(io.BytesIO(response.content))
    return max(image.size) <= 320 and min(image.size) >= 1


def test_a_59_megapixel_png_leaves_memory_flat_and_gets_the_icon(config, home, share):
    folder = config.properties_dir / "obj-1"
    write_png(folder / "riesig.png", 7680, 7680)  # 59 million pixels
    assert (folder / "riesig.png").stat().st_size < 1024 * 1024
    server = ServerProcess(home)
    try:
        assert is_real_thumbnail(thumb(server.url, share, "plan.pdf"))  # warm up
        baseline = rss_bytes(server.proc.pid)
        with PeakMemory(server.proc.pid) as memory:
            with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
                answers = list(
                    pool.map(lambda _: thumb(server.url, share, "riesig.png"), range(CONCURRENT))
                )
        growth = memory.peak - baseline
        print(f"8 thumbnails of 59 MP: RSS {baseline / 2**20:.0f} MiB, +{growth / 2**20:.1f} MiB")
        assert all(is_icon(answer) for answer in answers), [a.status_code for a in answers]
        assert growth < MAX_GROWTH

        photo = thumb(server.url, share, "foto.jpg")
        assert is_real_thumbnail(photo)
        [cached] = [p for p in cache_files(config) if p.read_bytes() == photo.content]
        made = cached.stat().st_mtime_ns
        again = thumb(server.url, share, "foto.jpg")
        assert again.content == photo.content
        assert cached.stat().st_mtime_ns == made  # read from the cache, not made again
        assert len(cache_files(config, "*.none")) == 1  # the giant: refused once, remembered
        assert server.proc.poll() is None
    finally:
        server.stop()


def big_images(folder: Path) -> dict[str, bool]:
    """Hostile and merely big files: name → whether a real thumbnail is expected."""
    write_png(folder / "knapp unter der Grenze.png", 7000, 5600)  # 39 MP: 157 MB decoded
    write_png(folder / "abgeschnitten.png", 800, 600, truncate=True)
    Image.new("L", (7000, 5000), 90).save(folder / "progressiv.jpg", progressive=True)
    Image.new("L", (7000, 5700), 90).save(folder / "gross.jpg")  # decoded at 1/8
    Image.new("RGB", (3000, 2000), (9, 9, 9)).save(folder / "normal.png")
    write_pdf(folder / "ohne Größe.pdf", "0 0 0 0")  # PDFium takes Letter
    write_pdf(folder / "winzig.pdf", "0 0 0.01 0.01")
    write_pdf(folder / "riesige Seite.pdf", "0 0 14400 14400")
    write_pdf(folder / "schmal.pdf", "0 0 1 14400")
    (folder / "kein Bild.jpg").write_bytes(b"<html>not an image</html>")
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9\n"
    (folder / "eigentlich EPS.jpg").write_bytes(eps)
    (folder / "kein PDF.pdf").write_bytes(b"%PDF-1.4 broken")
    return {
        "knapp unter der Grenze.png": False,
        "abgeschnitten.png": False,
        "progressiv.jpg": False,
        "gross.jpg": True,
        "normal.png": True,
        "ohne Größe.pdf": True,
        "winzig.pdf": True,
        "riesige Seite.pdf": True,
        "schmal.pdf": True,
        "kein Bild.jpg": False,
        "eigentlich EPS.jpg": False,  # never handed to Ghostscript
        "kein PDF.pdf": False,
    }


def test_every_hostile_file_gets_the_icon_and_never_an_error(config, share, server):
    expected = big_images(config.properties_dir / "obj-1")
    for name, real in expected.items():
        for _ in range(2):  # the second time from the cache (or the refusal noted)
            answer = thumb(server.url, share, name)
            assert answer.status_code in (200, 302), (name, answer.status_code)
            assert is_real_thumbnail(answer) if real else is_icon(answer), name
    assert len(cache_files(config, "*.none")) == sum(not real for real in expected.values())


def test_many_requests_for_one_file_render_it_once(config, share, server, monkeypatch):
    renders = []
    real_render = thumbnails._render

    def counted(*args):
        renders.append(args[0])
        return real_render(*args)

    monkeypatch.setattr(thumbnails, "_render", counted)
    Image.new("RGB", (4000, 3000), (120, 200, 30)).save(config.properties_dir / "obj-1" / "x.png")
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: thumb(server.url, share, "x.png"), range(20)))
    assert all(is_real_thumbnail(answer) for answer in answers)
    assert len({answer.content for answer in answers}) == 1
    assert [Path(path).name for path in renders] == ["x.png"]


def test_a_request_that_finds_every_slot_busy_gets_503(config, share, server, monkeypatch):
    monkeypatch.setattr(thumbnails, "WAIT_SECONDS", 0.3)
    release = threading.Event()
    holding = []

    def hold_a_slot():
        with thumbnails._turns.render(float("inf")):  # as a long rendering does
            holding.append(1)
            release.wait(30)

    holders = [threading.Thread(target=hold_a_slot) for _ in range(thumbnails.MAX_RENDERS)]
    for holder in holders:
        holder.start()
    try:
        while len(holding) < thumbnails.MAX_RENDERS:
            release.wait(0.01)
        busy = thumb(server.url, share, "foto.jpg")
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
        assert cache_files(config) == [] and cache_files(config, "*.none") == []
    finally:
        release.set()
        for holder in holders:
            holder.join(30)
    assert is_real_thumbnail(thumb(server.url, share, "foto.jpg"))
