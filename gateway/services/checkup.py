"""What a check of ``immoshare doctor`` gets (:class:`Checkup`) and returns
(:class:`Finding`), the thresholds it applies (:class:`Limits`) and small helpers
the check modules share.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
import shlex
from collections.abc import Callable
from pathlib import Path

from gateway.config import CONFIG_FILE, Config, default_home
from gateway.models import Grant
from gateway.services import journal
from gateway.services.tracking import journal_folder

ERROR = "error"
WARNING = "warning"

#: Less free space than this on the home's disk is an error: uploads get 507 and
#: journals cannot grow.
MIN_FREE_BYTES = 1024**3
#: A CRM whose last pull asked for a cursor this many events behind the newest ...
CURSOR_BEHIND_EVENTS = 10_000
#: ... or that has not pulled for this many days while there are new events.
CURSOR_BEHIND_DAYS = 7
#: How long finished events in a running server's journal may wait for the database
#: before its tracking writer counts as stalled (it normally takes milliseconds).
WRITER_GRACE_SECONDS = 10.0
#: How long ``GET /healthz`` may take.
PROBE_TIMEOUT_SECONDS = 3.0


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing found wrong (INTERFACE.md ``doctor --json``)."""

    severity: str  # ERROR or WARNING
    code: str
    subject: str
    message: str
    fix: str


@dataclasses.dataclass(frozen=True)
class Limits:
    """The thresholds of the checks (see the module constants)."""

    min_free_bytes: int = MIN_FREE_BYTES
    cursor_behind_events: int = CURSOR_BEHIND_EVENTS
    cursor_behind_days: int = CURSOR_BEHIND_DAYS
    writer_grace_seconds: float = WRITER_GRACE_SECONDS
    probe_timeout: float = PROBE_TIMEOUT_SECONDS


@dataclasses.dataclass
class Checkup:
    """What every check gets: the home, what was asked about, the thresholds."""

    config: Config
    property_key: str | None = None
    contact_ref: str | None = None
    limits: Limits = dataclasses.field(default_factory=Limits)

    def command(self, args: str) -> str:
        """An ``immoshare`` command line for this home, ready to copy."""
        return f"{program(self.config.home)} {args}"

    @property
    def settings_file(self) -> Path:
        return self.config.home / CONFIG_FILE

    @functools.cached_property
    def journals(self) -> list[journal.JournalFile]:
        return journal.journal_files(journal_folder(self.config))


Check = Callable[[Checkup], list[Finding]]


def program(home: Path) -> str:
    """``immoshare``, with ``--home`` unless the home is the one found without it."""
    implied = os.environ.get("IMMOSHARE_HOME")
    implied_home = Path(implied) if implied else default_home()
    if implied_home.absolute().resolve() == home.resolve():
        return "immoshare"
    return f"immoshare --home {shlex.quote(str(home))}"


def error(code: str, subject: str, message: str, fix: str) -> Finding:
    return Finding(ERROR, code, subject, message, fix)


def warning(code: str, subject: str, message: str, fix: str) -> Finding:
    return Finding(WARNING, code, subject, message, fix)


def grant_subject(grant: Grant) -> str:
    return f"grant {grant.property.key} {grant.contact.ref}"


def property_names(keys: list[str]) -> str:
    shown = ", ".join(f"'{k}'" for k in keys[:5]) + (" …" if len(keys) > 5 else "")
    return f"{len(keys)} propert{'y' if len(keys) == 1 else 'ies'} ({shown})"


def human_size(count: int) -> str:
    if count < 1024**2:
        return f"{count // 1024} KB"
    if count < 1024**3:
        return f"{count / 1024**2:.0f} MB"
    return f"{count / 1024**3:.1f} GB"


def aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
