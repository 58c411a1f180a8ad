"""The domain knows nothing of HTTP, and wsgidav.yaml is what the server runs."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.tools import REPO

HTTP_PACKAGES = {"wsgidav", "werkzeug", "jinja2", "cheroot"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_no_http_library():
    offenders = {}
    for path in (REPO / "gateway").rglob("*.py"):
        if path.name == "server.py" and path.parent.name == "gateway":
            continue  # the composition root
        if path.parent.name == "serving":
            continue  # the serving layer: what the HTTP adapters share
        bad = imported_roots(path) & (HTTP_PACKAGES | {"dav_provider", "webui"})
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert offenders == {}


def test_wsgidav_yaml_is_the_running_configuration(config):
    from dav_provider.app import build_dav_app, load_wsgidav_settings

    settings = load_wsgidav_settings()
    assert settings["http_authenticator"]["accept_digest"] is False
    assert settings["dir_browser"]["enable"] is False
    app = build_dav_app(
        config.properties_dir,
        trash_dir=config.trash_dir,
        block_size=config.block_size,
        max_upload_bytes=config.max_upload_bytes,
    )
    assert set(app.provider_map) == {"/dav", "/view"}
    assert app.provider_map["/view"].is_readonly() is True
    assert app.provider_map["/dav"].is_readonly() is False
    assert app.config["block_size"] >= 64 * 1024
    assert app.config["lock_storage"] is not None
