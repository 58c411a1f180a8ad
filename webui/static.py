"""Static assets (``webui/static/``) and the agency logo, served with long caching.

URLs carry a content hash (``static()`` in templates, the logo's file name), so a
changed file gets a new URL and may be cached for a year.
"""

from __future__ import annotations

import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path

from werkzeug.wrappers import Request, Response

from gateway.services import branding

STATIC_ROOT = Path(__file__).resolve().parent / "static"
FOREVER = "public, max-age=31536000, immutable"


def _contained(name: str) -> Path | None:
    if "\0" in name:
        return None  # no file has one; the file system calls would raise
    candidate = (STATIC_ROOT / name).resolve()
    if not candidate.is_relative_to(STATIC_ROOT) or not candidate.is_file():
        return None
    return candidate


@lru_cache(maxsize=64)
def _version(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """``/static/NAME?v=HASH``; the hash changes with the file."""
    path = _contained(name)
    if path is None:
        raise ValueError(f"no static file {name!r}")
    return f"/static/{name}?v={_version(path, path.stat().st_mtime_ns)}"


def serve_static(app, request: Request, name: str) -> Response:
    path = _contained(name)
    if path is None:
        return app.not_found(request)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type.endswith("javascript"):
        content_type += "; charset=utf-8"
    response = Response(path.read_bytes(), content_type=content_type)
    response.headers["Cache-Control"] = FOREVER
    return response


def serve_logo(app, request: Request, name: str) -> Response:
    path = branding.logo_path(app.config, name)
    if path is None:
        return app.not_found(request)
    response = Response(path.read_bytes(), content_type=branding.get_branding(app.config).logo_type)
    response.headers["Cache-Control"] = FOREVER
    return response


def logo_url(current: branding.Branding) -> str | None:
    return f"/branding/{current.logo_file}" if current.logo_file else None
