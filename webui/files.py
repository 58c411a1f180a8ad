"""Sending one file of a share: inline (PDF, images, text) or as an attachment.

Only types a browser shows safely are ever sent inline; everything else (HTML, SVG,
office files) goes out as an attachment, so a file can never run script on this
origin. Range requests are answered (browsers' PDF viewers use them).
"""

from __future__ import annotations

import os
import unicodedata
from urllib.parse import quote

from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import parse_range_header
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

INLINE_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}


def inline_type(name: str) -> str | None:
    """The content type to show ``name`` in the browser, or None if it must not be."""
    return INLINE_TYPES.get(os.path.splitext(name)[1].lower())


def content_disposition(disposition: str, name: str) -> tuple[str, dict[str, str]]:
    """``attachment``/``inline`` with an ASCII ``filename`` and, where needed, the
    UTF-8 ``filename*`` of RFC 6266."""
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return disposition, {
            "filename": simple or "download",
            "filename*": "UTF-8''" + quote(name, safe="!#$&+-.^_`|~"),
        }
    return disposition, {"filename": name}


def etag_of(info: os.stat_result) -> str:
    """A file version's entity tag: inode, size and mtime (ns), unquoted."""
    return f"{info.st_ino:x}-{info.st_size:x}-{info.st_mtime_ns:x}"


def send_file(request: Request, handle, name: str, *, inline: bool, block_size: int) -> Response:
    """A response streaming the open binary ``handle`` (closed with the response)."""
    info = os.fstat(handle.fileno())
    response = Response(
        wrap_file(request.environ, handle, block_size),
        content_type=inline_type(name) if inline else "application/octet-stream",
        direct_passthrough=True,
    )
    response.content_length = info.st_size
    response.last_modified = info.st_mtime
    response.set_etag(etag_of(info))
    value, options = content_disposition("inline" if inline else "attachment", name)
    response.headers.set("Content-Disposition", value, **options)
    try:
        return response.make_conditional(
            _whole_file_suffix(request.environ, info.st_size),
            accept_ranges=True,
            complete_length=info.st_size,
        )
    except RequestedRangeNotSatisfiable:
        handle.close()
        raise


def _whole_file_suffix(environ: dict, size: int) -> dict:
    """``environ`` with a suffix range longer than the file (``bytes=-99999`` of a
    10 kB file) asking for the whole file, as RFC 9110 §14.1.3 says; werkzeug
    would answer 416."""
    ranges = parse_range_header(environ.get("HTTP_RANGE"))
    if ranges is None or len(ranges.ranges) != 1:
        return environ
    start, end = ranges.ranges[0]
    if end is None and start < 0 and -start > size:
        return {**environ, "HTTP_RANGE": "bytes=0-"}
    return environ
