"""Cases on immoshare's contact page: 2 (download URL rate), 5 (zip versus
reading the files, peak memory) and 6 (page of a big share, search).

The URLs are found on the page itself through the ``data-testid`` hooks, so the
bench follows the page's design; while the page lacks them, the case is skipped with
a line saying so. copyparty runs beside where it has the same thing.
"""

from __future__ import annotations

import io
import statistics
import urllib.parse
import zipfile

from bench import client, data, load
from bench.context import Bench, progress
from bench.page import PageLinks, parse_page
from bench.report import Row, Target

_ZIP_CHECK_LIMIT = 64 * 2**20  # zips up to this size are opened and checked entry by entry


def _page(bench: Bench, key: str) -> tuple[client.Result, PageLinks, dict]:
    """The contact's page of property ``key``: response, hooks, and a Cookie header if
    the page set one."""
    server = bench.immoshare
    got = client.fetch(
        server,
        "GET",
        path=bench.links[key],
        auth=False,
        keep_body=True,
        timeout=bench.profile.request_timeout,
    )
    cookie = got.headers.get("set-cookie")
    headers = {"Cookie": cookie.split(";", 1)[0]} if cookie else {}
    return got, parse_page(got.body.decode("utf-8", "replace")), headers


def _absolute(bench: Bench, key: str, href: str) -> str:
    base = f"http://127.0.0.1{bench.links[key]}/"
    parts = urllib.parse.urlsplit(urllib.parse.urljoin(base, href))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def case_page_download(bench: Bench) -> list[Row]:
    p = bench.profile
    row = Row(
        "2",
        f"{p.small_bytes // 1024} KiB GET via the contact page's download URL",
        "req/s",
        Target(">=", 0.9, "copyparty"),
    )
    page, links, cookie = _page(bench, "files")
    href = links.downloads.get(data.SMALL.split("/")[-1])
    if page.status != 200 or href is None:
        row.skipped = f"the contact page (HTTP {page.status}) has no data-testid=download link yet"
        return [row]
    path = _absolute(bench, "files", href)
    got = client.fetch(
        bench.immoshare, "GET", path=path, auth=False, headers=cookie, keep_body=True
    )
    if got.status != 200 or got.body != bench.data.path(data.SMALL).read_bytes():
        row.skipped = f"the download URL answered HTTP {got.status} with other bytes"
        return [row]
    for _, server in bench.turns(("immoshare", "copyparty")):
        if server.name == "immoshare":
            rate, failed = load.request_rate(
                server.port, path, cookie, p.rps_connections, p.rps_seconds
            )
        else:
            rate, failed = load.request_rate(
                server.port,
                server.url_path(data.SMALL),
                {"Authorization": server.auth_header},
                p.rps_connections,
                p.rps_seconds,
            )
        row.add(server.name, rate)
        if failed:
            row.note += f"{server.name}: {failed} errors; "
    return [row]


def _check_zip(got: client.Result, files: int, size: int) -> str | None:
    if got.status != 200 or got.nbytes < files * size:
        return f"HTTP {got.status}, {got.nbytes} B"
    if got.body is not None:
        infos = zipfile.ZipFile(io.BytesIO(got.body)).infolist()
        if len(infos) != files or any(i.file_size != size for i in infos):
            return f"{len(infos)} entries of the wrong size"
    return None


def case_zip(bench: Bench) -> list[Row]:
    p = bench.profile
    size = f"{p.zip_files} files, {p.zip_total_bytes / 2**20:,.0f} MiB"
    zip_rate = Row("5", f"zip of {size}", "MB/s")
    read_rate = Row("5", "reading the same files, one connection", "MB/s")
    ratio = Row("5", "zip / reading", "×", Target(">=", 0.8))
    peak = Row("5", "peak RSS growth during the zip", "MiB", Target("<", 50))
    rows = [zip_rate, read_rate, ratio, peak]
    page, links, cookie = _page(bench, data.ZIP)
    if page.status != 200 or links.zip is None:
        zip_rate.skipped = f"the contact page (HTTP {page.status}) has no data-testid=zip link yet"
        return [zip_rate]
    zip_paths = {"immoshare": _absolute(bench, data.ZIP, links.zip)}
    names = bench.data.names(data.ZIP)
    keep = p.zip_total_bytes <= _ZIP_CHECK_LIMIT
    for _, server in bench.turns(("immoshare", "copyparty"), warm=(data.ZIP,)):
        mine = server.name == "immoshare"
        path = zip_paths.get(server.name) or server.url_path(data.ZIP + "/") + "?zip"
        headers = cookie if mine else {"Authorization": server.auth_header}
        server.reset_peak()
        before = server.rss_mib()
        conn = client.Connection(server.port, p.request_timeout)
        try:
            got = conn.request("GET", path, headers=headers, keep_body=keep)
            problem = _check_zip(got, p.zip_files, p.zip_file_bytes)
            if problem:
                zip_rate.note += f"{server.name}: {problem}; "
                continue
            zipped = got.nbytes / got.elapsed / 1e6
            peak.add(server.name, server.peak_mib() - before)
            auth = {"Authorization": server.auth_header}
            read = [
                conn.request("GET", server.url_path(f"{data.ZIP}/{n}"), headers=auth) for n in names
            ]
        finally:
            conn.close()
        read_bytes = sum(r.nbytes for r in read if r.status == 200)
        reading = read_bytes / sum(r.elapsed for r in read) / 1e6
        zip_rate.add(server.name, zipped)
        read_rate.add(server.name, reading)
        ratio.add(server.name, zipped / reading)
        progress(f"  case 5 {server.name}: zip {zipped:,.0f} MB/s, read {reading:,.0f} MB/s")
    return rows


def _median_ms(bench: Bench, server, path: str, headers: dict, auth: bool) -> float:
    times = []
    for _ in range(bench.profile.page_repeats):
        got = client.fetch(
            server,
            "GET",
            path=path,
            headers=headers,
            auth=auth,
            timeout=bench.profile.request_timeout,
        )
        if got.status != 200:
            raise RuntimeError(f"{server.name} {path}: HTTP {got.status}")
        times.append(got.elapsed * 1000)
    return statistics.median(times)


def case_page_and_search(bench: Bench) -> list[Row]:
    p = bench.profile
    page_row = Row("6", f"contact page of {p.page_files:,} files", "ms", Target("<", 200))
    search_row = Row("6", f"search over {p.listing_files:,} files", "ms", Target("<", 100))
    page, links, cookie = _page(bench, data.PAGE)
    if page.status != 200 or links.entries != p.page_files:
        page_row.skipped = (
            f"the contact page (HTTP {page.status}) shows {links.entries} "
            f"data-testid=entry of {p.page_files} files"
        )
    else:
        for _, server in bench.turns(("immoshare", "copyparty")):
            if server.name == "immoshare":
                ms = _median_ms(bench, server, bench.links[data.PAGE], cookie, auth=False)
            else:  # copyparty's own HTML listing of the folder, for comparison
                ms = _median_ms(bench, server, server.url_path(data.PAGE + "/"), {}, auth=True)
            page_row.add(server.name, ms)
    _, listing, cookie = _page(bench, data.LISTING)
    if listing.search_form is None:
        search_row.skipped = "the contact page has no data-testid=search input in a GET form"
        return [page_row, search_row]
    action, name = listing.search_form
    query = urllib.parse.urlencode({name: "Unterlage-0099"})
    path = _absolute(bench, data.LISTING, action or bench.links[data.LISTING])
    path += ("&" if "?" in path else "?") + query
    search_row.add("immoshare", _median_ms(bench, bench.immoshare, path, cookie, auth=False))
    return [page_row, search_row]
