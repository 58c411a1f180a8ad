"""Build the WsgiDAV application from ``wsgidav.yaml`` plus what depends on the home."""

from __future__ import annotations

import copy
import importlib
from pathlib import Path

import yaml
from wsgidav.lock_man.lock_storage import LockStorageDict
from wsgidav.wsgidav_app import WsgiDAVApp

from dav_provider.lock_cap import CappedLockStorage
from gateway import urls
from gateway.shipped import WSGIDAV_SETTINGS, shipped_text

DAV_PREFIXES = urls.DAV_SHARES


def load_wsgidav_settings() -> dict:
    """The top-level ``wsgidav.yaml``, as shipped in the package (``gateway.shipped``)."""
    return yaml.safe_load(shipped_text(WSGIDAV_SETTINGS))


def _import(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def build_dav_app(
    properties_dir: Path,
    *,
    trash_dir: Path,
    block_size: int,
    max_upload_bytes: int,
    lock_storage=None,
    settings: dict | None = None,
) -> WsgiDAVApp:
    """WsgiDAV with one provider instance per share over ``properties_dir``; agents'
    deletions go to ``trash_dir``."""
    settings = copy.deepcopy(settings or load_wsgidav_settings())
    providers = {}
    for share, spec in settings["provider_mapping"].items():
        provider_class = _import(spec["class"])
        providers[share] = provider_class(
            str(properties_dir),
            trash_dir=trash_dir,
            max_upload_bytes=max_upload_bytes,
            **spec.get("kwargs", {}),
        )
    settings["provider_mapping"] = providers
    settings["block_size"] = block_size
    if lock_storage is None and settings.get("lock_storage") is True:
        lock_storage = LockStorageDict()
    if lock_storage is not None:
        settings["lock_storage"] = CappedLockStorage(lock_storage)
    return WsgiDAVApp(settings)


def root_options(environ, start_response):
    """``OPTIONS /`` for Windows' WebClient, which probes the site root without
    credentials before it mounts ``/dav/`` and gives up on anything but 200."""
    start_response(
        "200 OK",
        [
            ("DAV", "1, 2"),
            ("MS-Author-Via", "DAV"),
            ("Allow", "OPTIONS, GET, HEAD, PROPFIND"),
            ("Content-Length", "0"),
        ],
    )
    return [b""]


def is_dav_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in DAV_PREFIXES)
