"""Checks for "the immoCloud tracking delivers no data": were accesses tracked at
all, do events wait in journals (of a stopped server, or of a running one whose
writer stalled), does the CRM have an API key and does it keep up.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable

from gateway.clock import utc_now
from gateway.models import AccessEvent, ApiKey
from gateway.services import grants
from gateway.services.checkup import Checkup, Finding, aware, error, warning

_POLL_SECONDS = 0.2


def check_events(checkup: Checkup) -> list[Finding]:
    """Asked about a property or contact: has any access been tracked at all?"""
    key, ref = checkup.property_key, checkup.contact_ref
    if key is None and ref is None:
        return []
    query = AccessEvent.select()
    if key is not None:
        query = query.where(AccessEvent.property == key)
    if ref is not None:
        query = query.where(AccessEvent.contact == ref)
    if query.exists():
        return []
    if key is not None and ref is not None:
        who, subject = f"contact '{ref}' on property '{key}'", f"grant {key} {ref}"
    elif key is not None:
        who, subject = f"property '{key}'", f"property {key}"
    else:
        who, subject = f"contact '{ref}'", f"contact {ref}"
    show = (
        f"tracking show --property {key}" if key is not None else f"tracking show --contact {ref}"
    )
    test = f"link {key} {ref}" if key is not None and ref is not None else "link PROPERTY REF"
    return [
        error(
            "no_events",
            subject,
            f"no access has been tracked for {who}: nobody opened the link or the "
            "WebDAV share yet (previews are never tracked)",
            f"send the link (`{checkup.command(test)}`); an access shows in "
            f"`{checkup.command(show)}` at once. If the contact did open it, the "
            "journal and writer findings say where the events are",
        )
    ]


def _unstored(uids: Iterable[str]) -> set[str]:
    """Those of ``uids`` that no stored event has."""
    missing = set(uids)
    pending = sorted(missing)
    for start in range(0, len(pending), 500):
        chunk = pending[start : start + 500]
        missing -= {
            e.uid for e in AccessEvent.select(AccessEvent.uid).where(AccessEvent.uid.in_(chunk))
        }
    return missing


def check_dead_journals(checkup: Checkup) -> list[Finding]:
    """Journals of a server that is gone hold events until the next start stores them."""
    dead = [f for f in checkup.journals if not f.live]
    if not dead:
        return []
    unstored = _unstored(uid for f in dead for uid in f.events)
    store = (
        f"`{checkup.command('tracking verify')}` (any tracking command) or the next server start"
    )
    if unstored:
        return [
            error(
                "journal_unstored",
                "journal",
                f"{len(unstored)} tracked access(es) wait in {len(dead)} journal file(s) of a "
                f"server that stopped ({', '.join(f.path.name for f in dead)}); reports and "
                "the CRM do not have them yet",
                f"{store} stores them",
            )
        ]
    return [
        warning(
            "journal_leftover",
            "journal",
            f"{len(dead)} journal file(s) of a server that stopped are left; their events "
            "are stored",
            f"{store} removes them",
        )
    ]


def check_tracking_writer(checkup: Checkup) -> list[Finding]:
    """A running server's finished events reach the database within milliseconds;
    ones still missing after ``writer_grace_seconds`` mean its writer has stalled."""
    live = [f for f in checkup.journals if f.live]
    waiting = _unstored(uid for f in live for uid in f.finished)
    deadline = time.monotonic() + checkup.limits.writer_grace_seconds
    while waiting and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        waiting = _unstored(waiting)
    if not waiting:
        return []
    return [
        error(
            "tracking_writer_stalled",
            "journal",
            f"{len(waiting)} finished access(es) journaled by a running server did not "
            f"reach the database within {checkup.limits.writer_grace_seconds:g} s: its "
            "tracking writer is not running or cannot write",
            "look for 'tracking:' lines in the server's log (database locked, disk full, "
            f"database server gone), then restart `{checkup.command('serve')}`; the "
            "journal is stored at the next start, nothing is lost",
        )
    ]


def check_api_keys(checkup: Checkup) -> list[Finding]:
    """The CRM pulls events with an API key; one that never pulled is not set up."""
    keys = list(ApiKey.select().where(ApiKey.revoked_at.is_null()).order_by(ApiKey.name))
    if not keys:
        return [
            error(
                "no_api_key",
                "api",
                "there is no API key: the CRM cannot pull events from /api/v1/events",
                f"`{checkup.command('apikey create crm')}`, then enter the key in the CRM "
                "(sent as 'Authorization: Bearer KEY')",
            )
        ]
    base = grants.base_url(checkup.config)
    return [
        warning(
            "api_key_unused",
            f"api key {key.name}",
            f"the API key '{key.name}' has never pulled events",
            f"enter it in the CRM; the CRM calls GET {base}/api/v1/events?since=CURSOR",
        )
        for key in keys
        if key.last_pull_at is None
    ]


def check_cursors(checkup: Checkup) -> list[Finding]:
    """A key's last pull asked for a cursor far behind the newest event, or long ago."""
    limits = checkup.limits
    now = utc_now()
    findings = []
    keys = ApiKey.select().where(ApiKey.revoked_at.is_null() & ApiKey.last_pull_at.is_null(False))
    for key in keys.order_by(ApiKey.name):
        behind = AccessEvent.select().where(AccessEvent.id > key.last_cursor).count()
        last = aware(key.last_pull_at)
        idle = now - last
        too_many = behind > limits.cursor_behind_events
        too_old = behind > 0 and idle > datetime.timedelta(days=limits.cursor_behind_days)
        if not (too_many or too_old):
            continue
        findings.append(
            error(
                "crm_cursor_behind",
                f"api key {key.name}",
                f"the CRM (API key '{key.name}') is {behind} event(s) behind: its last pull, "
                f"{idle.days} day(s) ago ({last:%Y-%m-%d %H:%M} UTC), asked for the events "
                f"after cursor {key.last_cursor}",
                "check the CRM's import job: it must pull regularly, pass the 'next' of "
                "each answer as 'since' of its next call, and repeat until 'events' is empty",
            )
        )
    return findings
