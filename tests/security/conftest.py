"""The world every attack runs against: what may be reached, and the secrets that must
never show up in any answer.

- ``obj-1``: granted to contact 4711 (no consent needed) — the attacker's own share;
- ``obj-2``: granted only to contact 4712 — another contact's grant;
- ``obj-c``: granted to 4711 (and 4712) but requires consent, not given yet;
- ``outside.txt`` in the home and ``elsewhere.txt`` beside it: outside every property.

Rate limiting is off here unless a test turns it on: path attacks send many 404s.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gateway.services import grants
from gateway.services.home import open_home
from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import ServerProcess, ThreadedServer, certificate

SECRETS = (
    b"SECRET-OBJ2",
    b"SECRET-CONSENT",
    b"SECRET-OUTSIDE",
    b"SECRET-ELSEWHERE",
    b"SQLite format",
)


@dataclasses.dataclass
class World:
    config: object
    home: Path
    agent: tuple[str, str]
    contact: tuple[str, str]  # 4711
    other_contact: tuple[str, str]  # 4712
    link: str  # 4711's token for obj-1
    consent_link: str  # 4711's token for obj-c, consent not given
    other_link: str  # 4712's token for obj-2
    other_consent_link: str  # 4712's token for obj-c, consent not given
    preview: str  # preview token of obj-1
    secrets: tuple[bytes, ...]

    def leaked(self, payload: bytes) -> list[bytes]:
        """The secrets found in ``payload`` (an answer's headers and body)."""
        return [s for s in self.secrets if s in payload]


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture
def config(home):
    return open_home(home, {"rate_limit_failures": 0})


@pytest.fixture
def world(config, home) -> World:
    make_agent()
    make_property(
        config,
        "obj-1",
        "Musterstraße 5",
        files={"plan.pdf": b"%PDF-public-obj1", "Unterlagen/expose.pdf": b"%PDF-expose"},
    )
    make_property(config, "obj-2", "Geheimweg 9", files={"secret.pdf": b"%PDF-SECRET-OBJ2"})
    make_property(
        config,
        "obj-c",
        "Mit Widerruf",
        requires_consent=True,
        files={"c.pdf": b"%PDF-SECRET-CONSENT"},
    )
    make_contact("4711", "Erika Mustermann")
    make_contact("4712", "Max Mustermann")
    mine = make_grant(config, "obj-1", "4711")
    consent = make_grant(config, "obj-c", "4711")
    other = make_grant(config, "obj-2", "4712")
    other_consent = make_grant(config, "obj-c", "4712")
    (home / "outside.txt").write_bytes(b"SECRET-OUTSIDE")
    (home.parent / "elsewhere.txt").write_bytes(b"SECRET-ELSEWHERE")
    secret_key = (home / "secret.key").read_bytes().strip()
    return World(
        config=config,
        home=home,
        agent=("anna", AGENT_PASSWORD),
        contact=(mine.username, mine.password),
        other_contact=(other.username, other.password),
        link=_token(mine.link),
        consent_link=_token(consent.link),
        other_link=_token(other.link),
        other_consent_link=_token(other_consent.link),
        preview=_token(grants.preview_link(config, "obj-1")),
        secrets=SECRETS + (secret_key,),
    )


@pytest.fixture
def server(config, world):
    """The real server, started once the world exists: granting while a server writes
    (catalog, tracking) can hit SQLite's "database is locked"."""
    running = ThreadedServer(config)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and its key."""
    return certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_server(world, tls_files):
    """``immoshare serve --cert --key`` as its own process; header deadline 10 s."""
    running = ServerProcess(
        world.home,
        env={"IMMOSHARE_HEADER_TIMEOUT": "10", "IMMOSHARE_RATE_LIMIT_FAILURES": "0"},
        tls=tls_files,
    )
    yield running
    running.stop()


@pytest.fixture
def start_server(home, world):
    """Start another real server on this home with setting overrides; stopped after."""
    started = []

    def start(**overrides):
        running = ThreadedServer(open_home(home, overrides))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
