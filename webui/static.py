"""Static assets (``webui/static/``) and the agency logo, served with long caching.

URLs carry a content hash (``static()`` in templates, the logo's file name), so a
changed file gets a new URL and may be cached for a year. The static files are read
once per process: they change only with the installation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import mimetypes
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from werkzeug.wrappers import Request, Response

from gateway import urls
from gateway.services import branding

FOREVER = "public, max-age=31536000, immutable"


@dataclasses.dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    version: str


def _content_type(name: str) -> str:
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type.endswith("javascript"):
        content_type += "; charset=utf-8"
    return content_type


@cache
def _static_files() -> dict[str, StaticFile]:
    """Every file of ``webui/static/`` by its name relative to that folder, read once
    through :mod:`importlib.resources` (a checkout and an installed wheel alike). The
    set is fixed by the installation, and a lookup in it cannot leave the folder."""
    files: dict[str, StaticFile] = {}

    def add(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                add(entry, f"{prefix}{entry.name}/")
            elif entry.is_file():
                body = entry.read_bytes()
                name = prefix + entry.name
                version = hashlib.sha256(body).hexdigest()[:12]
                files[name] = StaticFile(body, _content_type(name), version)

    add(resources.files("webui").joinpath("static"), "")
    return files


def static_url(name: str) -> str:
    """``/static/NAME?v=HASH``; the hash changes with the file."""
    found = _static_files().get(name)
    if found is None:
        raise ValueError(f"no static file {name!r}")
    return f"{urls.STATIC}/{name}?v={found.version}"


def serve_static(app, request: Request, name: str) -> Response:
    found = _static_files().get(name)
    if found is None:
        return app.not_found(request)
    response = Response(found.body, content_type=found.content_type)
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
