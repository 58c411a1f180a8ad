"""Tracking events: one append path for web and WebDAV, chained by hashes.

Every adapter builds an :class:`Event` and hands it to :func:`record_event` (or, for
a file body, to ``gateway.serving.delivery.tracked_body``, which calls :func:`begin_event`
before the first byte and :func:`record_event` on close). Fields are fixed by
INTERFACE.md. What this module owns:

**Not losing events, not slowing serving.** While the server runs, ``record_event``
writes one line to a journal file and returns; one writer thread appends events to
the database in batches (``gateway.services.journal``). Journals of a process that
died (even by SIGKILL) are replayed at the next start; the event ``uid`` is unique,
so a replay never duplicates. Without a running server (CLI, scripts) events are
appended at once. ``flush()`` waits until what was recorded is in the database.

**Served versions.** ``begin_event`` and ``record_event`` are the one point every
file that goes out to a contact passes: they hand its version to
``served_versions.keep`` (a dict lookup once kept), so it can be shown later.

**Insert order is commit order.** Appends are serialised: on SQLite by taking the
write lock first (``BEGIN IMMEDIATE``), on PostgreSQL by a transaction-level
advisory lock (``pg_advisory_xact_lock``) held until commit. Ids are assigned under
that lock as the previous id + 1, so an event with a higher id never becomes visible
before one with a lower id. A consumer that polls "events with id > cursor" in id
order therefore sees each event exactly once, however many threads and processes
write.

**Tamper evidence.** Each row's ``hash`` is a sha256 over the previous row's hash
and its facts, and ids run without gaps. ``verify_chain`` recomputes the chain and
names the first row that was changed, deleted, inserted or moved. The personal fields (contact, IP,
user agent) are not hashed directly: the chain covers ``subject``, an HMAC of them
under a random key per contact ref (``SubjectKey``). An erasure replaces those
fields by a pseudonym and deletes the key: the chain still verifies, and the stored
digest can no longer be linked back to the person (see ``services/privacy``).
Pruning deletes a prefix of the chain and records a ``ChainCheckpoint`` of where the
chain continues. Deleting the newest rows is only visible against a head hash kept
elsewhere, which is why ``verify`` prints it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import itertools
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import peewee as pw

from gateway.clock import iso, utc_now
from gateway.config import Config
from gateway.db import database, is_postgres
from gateway.errors import InvalidInput
from gateway.models import AccessEvent, ChainCheckpoint, Contact, Erasure, SubjectKey
from gateway.security import cut_user_agent, shorten_ip
from gateway.services import served_versions

log = logging.getLogger("immoshare.tracking")

GENESIS = "0" * 64
#: What triggers each action (INTERFACE.md "Tracking event").
ACTIONS = {
    "open": "a file shown inline on the contact page",
    "download": "a file sent as attachment on the web, any file GET over WebDAV, "
    "or one member of a zip",
    "zip": "one zip of the entries shown on the contact page (plus a download per member)",
    "list": "a folder page of the share shown",
    "consent": "the contact accepted the cancellation notice (and AGB)",
    "denied": "a revoked, expired or unknown credential or token that names a known grant",
}
CHANNELS = ("web", "dav")
#: The fields of an event as the CRM sees it, in export order: the table "Tracking
#: event" of ``docs/interface.md``. The chain's fields below are derived from it.
PUBLIC_FIELDS = (
    "id",
    "at",
    "property",
    "contact",
    "agent",
    "channel",
    "action",
    "path",
    "bytes",
    "size",
    "complete",
    "status",
    "sha256",
    "ip",
    "user_agent",
)
#: Same lock key in every process: "immoshare tracking chain".
_PG_CHAIN_LOCK = 0x696D6D6F_7472616B
_NO_CONTACT_KEY = b"immoshare:no-contact"


class _EventIds:
    """Event uids: a random half per process, a counted half per event. Drawing all
    32 hex digits from ``secrets`` was a system call per download that let go of
    the GIL; the random half keeps processes (and forks) apart."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._numbers = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._numbers):016x}"


new_event_uid = _EventIds()


@dataclasses.dataclass
class Event:
    """One access as an adapter saw it. ``bytes``/``complete`` are set when it ends.

    ``ip`` is the raw client address: the ``ip_privacy`` setting is applied here.
    ``path`` is inside the share, ``/``-separated; a leading ``/`` is dropped.
    ``range_start`` is the first byte of a 206 response: with ``bytes`` it is the
    range that went out (the Nachweis joins ranges, ``services/reports``).
    """

    property: str
    channel: str
    action: str
    path: str = ""
    contact: str | None = None
    agent: str | None = None
    bytes: int = 0
    size: int | None = None
    complete: bool = False
    status: int | None = None
    sha256: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    at: datetime.datetime = dataclasses.field(default_factory=utc_now)
    uid: str = dataclasses.field(default_factory=new_event_uid)
    range_start: int | None = None


def settle_transfer(event: Event, sent: int, *, exhausted: bool) -> None:
    """Set ``bytes`` and ``complete`` of a file body (or zip) that ended, for web and
    WebDAV alike. ``complete`` only when every byte of the whole file went out: the
    body ran to its end, from the file's first byte, and ``sent`` is its ``size``. A
    range is never complete unless it covered the whole file (``bytes=0-0`` of a
    large file is one byte, not a download)."""
    event.bytes = sent
    event.complete = (
        exhausted and not event.range_start and event.size is not None and sent == event.size
    )


# ---------------------------------------------------------------- recording


@dataclasses.dataclass
class _Settings:
    ip_privacy: str = "shorten"
    recorder: object | None = None  # the running journal.Recorder, if any
    home: Path | None = None
    users: int = 0


_state = _Settings()
_state_lock = threading.Lock()


def to_row(event: Event, ip_privacy: str | None = None) -> dict:
    """The stored form of ``event``: privacy applied, path normalised, JSON-safe.

    :raises InvalidInput: unknown action or channel (an adapter's mistake).
    """
    if event.action not in ACTIONS:
        raise InvalidInput(f"unknown tracking action {event.action!r}")
    if event.channel not in CHANNELS:
        raise InvalidInput(f"unknown tracking channel {event.channel!r}")
    return {
        "uid": event.uid,
        "at": iso(event.at),
        "property": event.property,
        "contact": event.contact,
        "agent": event.agent,
        "channel": event.channel,
        "action": event.action,
        "path": (event.path or "").strip("/"),
        "bytes": int(event.bytes),
        "size": event.size,
        "complete": bool(event.complete),
        "status": event.status,
        "sha256": event.sha256,
        "ip": shorten_ip(event.ip, ip_privacy or _state.ip_privacy),
        "user_agent": cut_user_agent(event.user_agent),
        "range_start": event.range_start,
    }


#: Events whose file version went out to a contact, and so is kept (``served_versions``).
_SERVED_ACTIONS = ("open", "download")


def _keep_served(event: Event) -> None:
    """Every version that goes out to a contact is kept: this is the one point that
    web, WebDAV and zip events all pass through."""
    if event.sha256 is not None and event.contact is not None and event.action in _SERVED_ACTIONS:
        served_versions.keep(event.property, event.path, event.sha256)


def record_event(event: Event) -> None:
    """Record a finished event. Returns at once while the server runs (journal line,
    then the writer thread); otherwise appends it to the database now."""
    _keep_served(event)
    row = to_row(event)
    recorder = _state.recorder
    if recorder is not None and recorder.finish(row):
        return
    append_rows([row])


def begin_event(event: Event, progress: Callable[[], int] | None = None) -> None:
    """Journal ``event`` before the first byte of its body goes out, so a client that
    got any byte has an event even if the process dies before ``record_event``.
    ``progress()`` tells the bytes sent so far, for a shutdown mid-transfer."""
    _keep_served(event)
    recorder = _state.recorder
    if recorder is not None:
        recorder.begin(to_row(event), progress)


def flush(timeout: float = 30.0) -> bool:
    """Wait until every event recorded so far is in the database."""
    recorder = _state.recorder
    return True if recorder is None else recorder.flush(timeout)


def journal_folder(config: Config) -> Path:
    return config.home / "journal"


def start_tracking(config: Config) -> None:
    """Start the journal and writer thread (replaying journals of dead processes
    first). One home per process; nested starts for the same home are counted. The
    daily pruning is not started here: ``gateway.services.retention`` uses this
    module, not the other way round, and the server starts both."""
    from gateway.services.journal import Recorder

    with _state_lock:
        if _state.users:
            if _state.home != config.home:
                raise InvalidInput("tracking already runs for another home in this process")
            _state.users += 1
            return
        recorder = Recorder(journal_folder(config), append_rows)
        recorder.start()
        _state.ip_privacy = config.ip_privacy
        _state.recorder = recorder
        _state.home = config.home
        _state.users = 1


def stop_tracking() -> None:
    """Write everything recorded to the database and stop the writer thread."""
    with _state_lock:
        if not _state.users:
            return
        _state.users -= 1
        if _state.users:
            return
        recorder = _state.recorder
        _state.recorder = _state.home = None
        _state.ip_privacy = "shorten"
    recorder.stop()


def recover_journals(config: Config) -> int:
    """Append events left in journals of processes that are gone; for commands run
    while no server is up. Returns how many events were new."""
    from gateway.services.journal import replay_dead_journals

    return replay_dead_journals(journal_folder(config), append_rows)


# ---------------------------------------------------------------- the chain


@contextmanager
def chain_transaction():
    """A transaction that holds the chain: no other process or thread appends,
    erases or prunes until it commits (see the module docstring)."""
    if is_postgres():
        with database.atomic():
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_PG_CHAIN_LOCK,))
            yield
    else:
        with database.atomic("IMMEDIATE"):
            yield


#: ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``, made once: the hashes
#: are computed per event, and building the encoder cost more than encoding.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def subject_digest(key: bytes, contact: str | None, ip: str | None, user_agent: str | None) -> str:
    """The keyed digest that stands in the chain for the personal fields."""
    material = _COMPACT_JSON.encode([contact, ip, user_agent])
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


#: The personal fields: hashed only through ``subject`` (``subject_digest``), so an
#: erasure can replace them and the chain still verifies.
PERSONAL_FIELDS = ("contact", "ip", "user_agent")
#: What ``chain_hash`` covers, in this order (changing it breaks every stored chain):
#: the public facts except the cursor ``id`` (checked to run without gaps) and the
#: personal fields, then the stored-only ones.
CHAINED_FIELDS = tuple(
    name for name in PUBLIC_FIELDS if name != "id" and name not in PERSONAL_FIELDS
) + ("uid", "range_start", "subject")
STORED_FIELDS = CHAINED_FIELDS + ("id",) + PERSONAL_FIELDS + ("prev_hash", "hash")


def chain_hash(prev_hash: str, row: dict) -> str:
    """The hash of an event: the previous hash and its facts in a fixed order. Ids
    are not hashed: ``verify_chain`` checks that they run without gaps."""
    material = _COMPACT_JSON.encode([prev_hash] + [row[name] for name in CHAINED_FIELDS])
    return hashlib.sha256(material.encode()).hexdigest()


def chain_head() -> tuple[int, str]:
    """Id and hash of the newest event, or of the last prune checkpoint, or genesis."""
    last = database.execute_sql(
        'SELECT "id", "hash" FROM "access_event" ORDER BY "id" DESC LIMIT 1'
    ).fetchone()
    if last is not None:
        return last[0], last[1]
    checkpoint = latest_checkpoint()
    if checkpoint is not None:
        return checkpoint.last_id, checkpoint.last_hash
    return 0, GENESIS


def latest_checkpoint() -> ChainCheckpoint | None:
    return ChainCheckpoint.select().order_by(ChainCheckpoint.last_id.desc()).first()


def _subject_keys(refs: set[str]) -> dict[str, bytes]:
    """The digest key of each ref, created for refs that have none (under the chain lock)."""
    keys = {}
    for chunk in _chunks(sorted(refs), 500):
        keys.update(_rows_in('SELECT "ref", "key" FROM "subject_key" WHERE "ref" IN', chunk))
    new = [{"ref": ref, "key": secrets.token_hex(32)} for ref in sorted(refs - keys.keys())]
    bulk_insert(SubjectKey, ("ref", "key"), new)
    keys.update((row["ref"], row["key"]) for row in new)
    return {ref: bytes.fromhex(key) for ref, key in keys.items()}


#: Field types whose database value is the value itself as rows carry it (peewee
#: would only call ``str``, ``int`` or ``bool`` on it): appending skips peewee's call
#: per value, an eighth of the writer thread's time per event.
_PLAIN_FIELDS = {pw.CharField, pw.TextField, pw.IntegerField, pw.BigIntegerField, pw.BooleanField}


#: Rows per ``INSERT`` statement on PostgreSQL.
PG_ROWS_PER_STATEMENT = 500


def bulk_insert(model, columns: tuple[str, ...], rows: list[dict]) -> None:
    """``INSERT`` many rows with one prepared statement on SQLite, with one statement
    of many rows on PostgreSQL. peewee's ``insert_many`` builds the SQL per row,
    which made appending 20 times slower; psycopg2's ``executemany`` is a round
    trip per row."""
    if not rows:
        return
    fields = [model._meta.fields[name] for name in columns]
    head = 'INSERT INTO "{}" ({}) VALUES '.format(
        model._meta.table_name, ", ".join(f'"{f.column_name}"' for f in fields)
    )
    getters = [(f.name, None if type(f) in _PLAIN_FIELDS else f.db_value) for f in fields]
    values = [[row[n] if to_db is None else to_db(row[n]) for n, to_db in getters] for row in rows]
    if is_postgres():
        from psycopg2.extras import execute_values

        execute_values(database.cursor(), head + "%s", values, page_size=PG_ROWS_PER_STATEMENT)
        return
    placeholders = ", ".join([database.param] * len(fields))
    database.cursor().executemany(f"{head}({placeholders})", values)


def key_for(keys: dict[str, bytes], contact: str | None) -> bytes | None:
    return _NO_CONTACT_KEY if contact is None else keys.get(contact)


def _rows_in(select: str, values: list) -> list[tuple]:
    """Rows of ``select`` (ending in ``IN``) for the given values. The SQL text is
    written here, not by peewee: the writer runs these for every batch of events, and
    peewee building an ``IN`` of a few hundred values cost more than running it."""
    marks = ", ".join([database.param] * len(values))
    return database.execute_sql(f"{select} ({marks})", values).fetchall()


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def append_rows(rows: list[dict]) -> int:
    """Append rows (``to_row`` dicts) to the chain in one transaction, skipping uids
    already stored (a replayed journal). Returns how many were new."""
    unique = list({row["uid"]: row for row in rows}.values())
    if not unique:
        return 0
    with chain_transaction():
        stored = set()
        for chunk in _chunks([row["uid"] for row in unique], 500):
            stored.update(
                uid for (uid,) in _rows_in('SELECT "uid" FROM "access_event" WHERE "uid" IN', chunk)
            )
        fresh = [row for row in unique if row["uid"] not in stored]
        if not fresh:
            return 0
        keys = _subject_keys({row["contact"] for row in fresh if row["contact"]})
        subjects = {}  # one downloader's many files: one digest
        last_id, last_hash = chain_head()
        records = []
        for row in fresh:
            last_id += 1
            who = (row["contact"], row["ip"], row["user_agent"])
            subject = subjects.get(who)
            if subject is None:
                subject = subjects[who] = subject_digest(key_for(keys, who[0]), *who)
            chained = dict(row, subject=subject)
            digest = chain_hash(last_hash, chained)
            records.append(
                dict(chained, id=last_id, at=_parse_at(row["at"]), prev_hash=last_hash, hash=digest)
            )
            last_hash = digest
        bulk_insert(AccessEvent, STORED_FIELDS, records)
    return len(records)


def _parse_at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------- verify


@dataclasses.dataclass(frozen=True)
class ChainReport:
    """Outcome of ``verify_chain``: how many events were checked, and the first
    broken one (its id and why) if any."""

    checked: int
    head_hash: str
    broken_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_id is None


_VERIFIED_FIELDS = ("id", "prev_hash", "hash", "contact", "ip", "user_agent") + CHAINED_FIELDS


def verify_chain() -> ChainReport:
    """Recompute the chain from the last checkpoint (or genesis) to the newest event."""
    checkpoint = latest_checkpoint()
    expected_prev = checkpoint.last_hash if checkpoint else GENESIS
    expected_id = checkpoint.last_id + 1 if checkpoint else 1
    erased = {e.pseudonym for e in Erasure.select(Erasure.pseudonym)}
    # an erased contact's consent events under a legal hold keep its ref (services/privacy)
    erased |= {c.ref for c in Contact.select(Contact.ref).where(Contact.held_until.is_null(False))}
    keys = {k.ref: bytes.fromhex(k.key) for k in SubjectKey.select()}
    query = AccessEvent.select(*[getattr(AccessEvent, n) for n in _VERIFIED_FIELDS]).order_by(
        AccessEvent.id
    )
    checked = 0
    for values in database.execute(query):  # raw values: millions of rows
        row = dict(zip(_VERIFIED_FIELDS, values, strict=True))
        row["at"] = _utc_text(row["at"])
        row["complete"] = bool(row["complete"])
        problem = _check(row, expected_id, expected_prev, erased, keys)
        if problem:
            return ChainReport(checked, expected_prev, row["id"], problem)
        checked += 1
        expected_prev, expected_id = row["hash"], row["id"] + 1
    return ChainReport(checked, expected_prev)


def _check(
    row: dict, expected_id: int, expected_prev: str, erased: set[str], keys: dict[str, bytes]
) -> str | None:
    if row["id"] < expected_id:
        return "lies before the last prune checkpoint (inserted afterwards)"
    if row["id"] > expected_id:
        missing = (
            f"event {expected_id}"
            if row["id"] == expected_id + 1
            else f"events {expected_id}–{row['id'] - 1}"
        )
        return f"{missing} before it missing (deleted or renumbered)"
    if row["prev_hash"] != expected_prev:
        return "does not follow the event before it (rows deleted, inserted or swapped)"
    if chain_hash(row["prev_hash"], row) != row["hash"]:
        return "its recorded facts were changed"
    if row["contact"] in erased:
        return None
    key = key_for(keys, row["contact"])
    if key is None or not hmac.compare_digest(
        subject_digest(key, row["contact"], row["ip"], row["user_agent"]), row["subject"]
    ):
        return "its contact, IP address or user agent was changed"
    return None


# ---------------------------------------------------------------- read and prune


def public_event(event: AccessEvent) -> dict:
    """An event as INTERFACE.md names it, fields in ``PUBLIC_FIELDS`` order."""
    data = {name: getattr(event, name) for name in PUBLIC_FIELDS}
    data["at"] = iso(event.at)
    data["complete"] = bool(event.complete)
    return data


def public_events_after(cursor: int, limit: int) -> list[dict]:
    """Up to ``limit`` events with an id above ``cursor``, in id order, as
    ``public_event`` gives them (read as tuples: the export reads millions)."""
    columns = [getattr(AccessEvent, name) for name in PUBLIC_FIELDS]
    query = (
        AccessEvent.select(*columns)
        .where(AccessEvent.id > cursor)
        .order_by(AccessEvent.id)
        .limit(limit)
    )
    events = []
    for values in database.execute(query):  # raw values: peewee's conversion is slow
        event = dict(zip(PUBLIC_FIELDS, values, strict=True))
        event["at"] = _utc_text(event["at"])
        event["complete"] = bool(event["complete"])
        events.append(event)
    return events


def _utc_text(value: datetime.datetime | str) -> str:
    """``iso()`` of a stored time, also from SQLite's text form."""
    if isinstance(value, str) and value.endswith("+00:00") and value[10:11] == " ":
        # SQLite's text of a UTC time, "2026-01-12 13:46:39.123456+00:00": cut and
        # joined, not parsed, as the export does it a million times
        return value[:10] + "T" + value[11:-6] + "Z"
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(datetime.UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


@dataclasses.dataclass(frozen=True)
class PruneResult:
    pruned: int
    kept_from: int | None


def prune_before(before: datetime.datetime) -> PruneResult:
    """Delete the events recorded before ``before``, as a prefix of the chain: up to
    the first event at or after ``before``. (Events replayed late from a journal
    may sit behind newer ones; they go with a later prune.) A checkpoint records
    where the chain continues, so ``verify_chain`` stays meaningful."""
    with chain_transaction():
        first_kept = (
            AccessEvent.select(AccessEvent.id)
            .where(AccessEvent.at >= before)
            .order_by(AccessEvent.id)
            .first()
        )
        query = AccessEvent.select(AccessEvent.id, AccessEvent.hash)
        if first_kept is not None:
            query = query.where(AccessEvent.id < first_kept.id)
        last_pruned = query.order_by(AccessEvent.id.desc()).first()
        if last_pruned is None:
            return PruneResult(0, first_kept.id if first_kept else None)
        pruned = AccessEvent.delete().where(AccessEvent.id <= last_pruned.id).execute()
        ChainCheckpoint.create(
            last_id=last_pruned.id, last_hash=last_pruned.hash, pruned=pruned, before=before
        )
    return PruneResult(pruned, first_kept.id if first_kept else None)
