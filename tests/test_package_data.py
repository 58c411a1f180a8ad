"""The files the program reads at run time are package data, the same bytes admins read
at the top of the repository; ``init`` makes a home's missing parents; static files
are served from the package and only those (``tests/test_install_wheel.py`` checks the
installed wheel)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from dav_provider.app import load_wsgidav_settings
from gateway.cli import cli as immoshare_cli
from gateway.services import consent
from gateway.services.home import default_config_text
from gateway.shipped import shipped_bytes
from tests.tools import REPO


def test_shipped_files_are_the_top_level_files():
    assert shipped_bytes("immoshare.yaml") == (REPO / "config/immoshare.yaml").read_bytes()
    assert shipped_bytes("wsgidav.yaml") == (REPO / "wsgidav.yaml").read_bytes()
    texts = sorted((REPO / "config" / "consent").glob("*.txt"))
    assert [t.stem for t in texts] == sorted(consent.KINDS)
    for text in texts:
        assert shipped_bytes("consent", text.name) == text.read_bytes()
        assert consent.shipped_sample(text.stem) == text.read_bytes()
    assert consent.shipped_sample("nonexistent") is None
    assert default_config_text() == (REPO / "config/immoshare.yaml").read_text(encoding="utf-8")
    assert load_wsgidav_settings()["provider_mapping"]


def test_init_creates_missing_parents(tmp_path):
    home = tmp_path / "srv" / "immoshare"
    result = CliRunner().invoke(immoshare_cli, ["--home", str(home), "init"])
    assert result.exit_code == 0, result.output
    text = (home / "immoshare.yaml").read_text(encoding="utf-8")
    assert text == (REPO / "config/immoshare.yaml").read_text(encoding="utf-8")
    assert (home / "properties").is_dir() and (home / "immoshare.db").is_file()


def test_init_under_a_file_fails_in_one_line_and_creates_nothing(tmp_path):
    blocker = tmp_path / "srv"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(immoshare_cli, ["--home", str(blocker / "immoshare"), "init"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot create home ") and result.output.count("\n") == 1
    assert blocker.read_text() == "not a folder" and sorted(tmp_path.iterdir()) == [blocker]


@pytest.mark.server
def test_static_files_come_from_the_package_with_a_content_version(server, http):
    page = http.get(f"{server.url}/static/app.css")
    assert page.status_code == 200
    assert page.content == (REPO / "webui/static/app.css").read_bytes()
    assert page.headers["Content-Type"] == "text/css; charset=utf-8"
    assert "immutable" in page.headers["Cache-Control"]
    svg = http.get(f"{server.url}/static/file.svg")
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")


@pytest.mark.server
@pytest.mark.parametrize(
    "name",
    [
        "missing.css",
        "../wsgidav.yaml",
        "%2e%2e/rendering.py",
        "..%2fstatic.py",
        "app.css/",
        "etc/passwd",
        "APP.CSS",
        "%00app.css",
        "__init__.py",
    ],
)
def test_anything_else_under_static_is_not_found(server, http, name):
    response = http.get(f"{server.url}/static/{name}", allow_redirects=False)
    assert response.status_code == 404
    assert not re.search(r"\bimport\b|root:", response.text)
