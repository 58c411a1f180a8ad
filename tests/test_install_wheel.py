"""immoshare as a user installs it: the README's "Running it for real", run line by line
in a fresh virtualenv outside the checkout, against the installed package only.

The commands come from README.md's code block, so the README is what this runs; only
``/srv/immoshare`` becomes a folder whose parent does not exist yet, and port 8080 a
free port. ``pip install .`` runs in a copy of the checkout that is deleted before
anything else runs, from a working directory outside it, without PYTHONPATH: the
program finds its settings, texts, templates and static files in site-packages or
nowhere. Dependencies come from the package index.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from tests.factories import WIDERRUF_TEXT
from tests.tools import REPO, free_port, wait_for_http

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.timeout(900)]

README_SECTION = "## Running it for real"
README_HOME = "/srv/immoshare"
README_PORT = "8080"
PACKAGES = ("gateway", "dav_provider", "webui")
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".work"
)


def readme_commands() -> list[str]:
    """The lines of the first ``sh`` block under "Running it for real"."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert README_SECTION in text, "README lost its section " + README_SECTION
    block = re.search(r"```sh\n(.*?)```", text.split(README_SECTION, 1)[1], re.S)
    assert block, "no sh code block under " + README_SECTION
    return [line for line in block.group(1).splitlines() if line.strip()]


def for_this_test(line: str, home: Path, port: int) -> str:
    return line.replace(README_HOME, str(home)).replace(f"--port {README_PORT}", f"--port {port}")


def shipped_files() -> dict[str, bytes]:
    """Every file of the three packages' folders that is not Python, by wheel path."""
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc"):
                if "__pycache__" not in path.parts:
                    found[path.relative_to(REPO).as_posix()] = path.read_bytes()
    return found


class Installation:
    """A virtualenv with immoshare installed by the README's own ``pip install`` line."""

    def __init__(self, root: Path):
        self.root = root
        self.venv = root / "venv"
        self.work = root / "work"  # the working directory of every command
        self.work.mkdir()
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        self.env = {
            name: value
            for name, value in os.environ.items()
            if name not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
            and not name.startswith("IMMOSHARE_")
        }
        self.env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        self.env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        self.wheel = self._build_wheel()

    def _build_wheel(self) -> Path:
        """The wheel of a clean copy of the checkout (no stale ``build/`` of earlier runs)."""
        source = self.root / "source"
        shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCE)
        dist = self.root / "dist"
        self.run(f"python -m pip wheel --quiet --no-deps -w {shlex.quote(str(dist))} .", source)
        return next(dist.glob("immoshare-*.whl"))

    def install(self, line: str) -> None:
        """The README's ``pip install`` line, in a fresh copy of the checkout that is gone
        afterwards."""
        source = self.root / "install-source"
        shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCE)
        try:
            self.run(line, source)
        finally:
            shutil.rmtree(source)

    def run(self, line: str, cwd: Path | None = None, env: dict | None = None) -> str:
        """One shell line; returns its stdout, fails the test with its output on error."""
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", line],
            cwd=cwd or self.work,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, line: str, env: dict, log: Path) -> subprocess.Popen:
        with open(log, "wb") as out:
            return subprocess.Popen(
                ["bash", "-c", f"exec {line}"],
                cwd=self.work,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )


@pytest.fixture(scope="module")
def installation(tmp_path_factory) -> Installation:
    return Installation(tmp_path_factory.mktemp("installed"))


def test_wheel_carries_every_file_the_program_reads(installation):
    with zipfile.ZipFile(installation.wheel) as wheel:
        names = set(wheel.namelist())
        expected = shipped_files()
        assert set(expected) <= names, sorted(set(expected) - names)
        for name, content in expected.items():
            info = wheel.getinfo(name)
            assert (info.external_attr >> 16) & 0o170000 != 0o120000, f"{name} is a link"
            assert wheel.read(name) == content, name
    # the package copies of the files that stay at the top of the repository
    assert (
        expected["gateway/shipped/immoshare.yaml"] == (REPO / "config/immoshare.yaml").read_bytes()
    )
    assert expected["gateway/shipped/wsgidav.yaml"] == (REPO / "wsgidav.yaml").read_bytes()
    for text in (REPO / "config" / "consent").glob("*.txt"):
        assert expected[f"gateway/shipped/consent/{text.name}"] == text.read_bytes()
    assert not any(name.startswith(("config/", "share/")) or ".data/" in name for name in names)


def test_readme_running_it_for_real(installation, tmp_path):
    commands = readme_commands()
    assert commands[0].startswith("pip install ."), commands[0]
    assert sum(README_HOME in line for line in commands) == len(commands) - 1
    serve_line = commands[-1]
    assert " serve " in serve_line and f"--port {README_PORT}" in serve_line, serve_line
    password, agent = re.search(
        r"echo '([^']+)' \| immoshare .* agent add (\S+) --password-stdin", "\n".join(commands)
    ).groups()

    installation.install(commands[0])
    home = tmp_path / "not-yet" / "immoshare"
    port = free_port()
    # The README serves on the default port, 8080, so the link `grant` prints before the
    # server runs names it; here both the flag and the default become the free port.
    env = {"IMMOSHARE_PORT": str(port)}

    where = installation.run(
        'python -c "import gateway, dav_provider, webui, sys; '
        'print(gateway.__file__, dav_provider.__file__, webui.__file__, *sys.path)"',
        env=env,
    )
    site_packages = next(installation.venv.glob("lib/python3*/site-packages"))
    for module_file in where.split()[:3]:
        assert Path(module_file).is_relative_to(site_packages), where
    assert str(REPO) not in where

    # the agency's own Widerrufsbelehrung, which the README sets before the first grant
    (installation.work / "widerrufsbelehrung.txt").write_text(WIDERRUF_TEXT, encoding="utf-8")
    outputs = [
        installation.run(for_this_test(line, home, port), env=env) for line in commands[1:-1]
    ]
    settings = (home / "immoshare.yaml").read_bytes()
    shipped = (REPO / "config/immoshare.yaml").read_bytes()
    assert settings.startswith(shipped)  # init wrote the commented defaults ...
    assert b"smtp_host: mail.example.de\n" in settings[len(shipped) :]  # ... the README mail
    link = re.search(r"Link: (\S+)", "\n".join(outputs)).group(1)
    assert link.startswith(f"http://127.0.0.1:{port}/s/"), link

    log = tmp_path / "serve.log"
    server = installation.start(for_this_test(serve_line, home, port), env, log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", alive=lambda: server.poll() is None)
        page = requests.get(link, timeout=30)
        assert page.status_code == 200
        assert "Musterstraße 5, 90402 Nürnberg" in page.text
        assert "Widerrufsbelehrung der Muster Immobilien GmbH" in page.text  # the one set
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page.text).group(1)
        css = requests.get(f"http://127.0.0.1:{port}{stylesheet}", timeout=30)
        assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
        assert css.content == (REPO / "webui/static/app.css").read_bytes()

        key = re.search(r"property add (\S+)", "\n".join(commands)).group(1)
        document = "Exposé, Stand Mai.\n".encode()
        url = f"http://127.0.0.1:{port}/dav/{key}/expose.txt"
        put = requests.put(url, data=document, auth=(agent, password), timeout=30)
        assert put.status_code == 201
        got = requests.get(url, auth=(agent, password), timeout=30)
        assert got.status_code == 200 and got.content == document
        assert (home / "properties" / key / "expose.txt").read_bytes() == document
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    output = log.read_text(encoding="utf-8")
    assert server.returncode == 0, output
    assert "Traceback" not in output, output
    # 0.0.0.0 without base_url: one line says what printed links are and what to set
    assert f"listening on 0.0.0.0 without base_url: links print as http://127.0.0.1:{port}" in (
        output
    )
    assert not (home / "listening.json").exists()  # a clean stop removes its record
