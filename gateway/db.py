"""One database handle, bound late: SQLite in the home by default, PostgreSQL for scale-out.

Every request and command runs inside ``database.connection_context()``; cheroot is
threaded and peewee keeps one connection per thread. On PostgreSQL the connections
come from a bounded pool and go back to it between the chunks of a response
(``gateway.serving.pool_release``), so 200 worker threads streaming files hold none.
"""

from __future__ import annotations

import datetime
import logging
import re
from pathlib import Path

import peewee
from playhouse.db_url import connect, parse
from playhouse.pool import PooledPostgresqlDatabase

from gateway import access_notify
from gateway.access_stamp import AccessStamp, LocalStamp
from gateway.errors import SetupError

database = peewee.DatabaseProxy()
log = logging.getLogger("immoshare.db")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "foreign_keys": 1,
    # busy_timeout (ms to wait for the writer lock instead of failing): the setting
    # database_busy_timeout, see open_database
    "synchronous": "normal",  # WAL + normal survives a process kill; fsync at checkpoint
    "mmap_size": 256 * 1024 * 1024,
    # deleted rows are overwritten, not left in free pages: a GDPR erasure
    # (services/privacy) must not stay readable in the file (the default of some builds only)
    "secure_delete": 1,
}

#: Seconds connecting to SQLite (journal mode and the other pragmas) waits for
#: another connection's lock: peewee's default.
CONNECT_BUSY_TIMEOUT = 5.0

POSTGRES_SCHEMES = ("postgres", "postgresql", "postgres+pool", "postgresql+pool")
#: Pool defaults per process; the URL's query string overrides them
#: (``?max_connections=50``). Connections are held only while a request queries, so
#: a few dozen serve hundreds of worker threads; ``timeout`` is how long a request
#: waits for a free one before failing.
POSTGRES_POOL = {"max_connections": 32, "stale_timeout": 300, "timeout": 30}


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


#: The URL and busy timeout ``database`` is bound to, so that opening the same again
#: is a no-op.
_bound: tuple[str, float] | None = None


def open_database(url: str, busy_timeout: float = 10.0) -> peewee.Database:
    """Connect ``database`` to ``url`` and return the concrete database.

    ``busy_timeout``: seconds an SQLite statement waits for another connection's
    write lock before it fails ("database is locked", answered 503).

    Opening the URL that is already open keeps the bound database: re-binding would
    hand threads that are mid-transaction (the tracking writer, a request) a second
    connection that waits on their own write lock.

    :raises SetupError: the URL is malformed or the database does not answer.
    """
    global _bound
    if (url, busy_timeout) == _bound and database.obj is not None:
        return database.obj
    try:
        if url.startswith("sqlite"):
            # IMMEDIATE: a transaction takes the write lock at BEGIN and waits for it
            # (busy_timeout). A deferred one that reads first cannot upgrade once a
            # background writer (tracking, catalog) committed: "database is locked".
            db = AccessStampedSqliteDatabase(
                parse(url)["database"],
                pragmas={**SQLITE_PRAGMAS, "busy_timeout": round(busy_timeout * 1000)},
                # the pragmas run on connect wait too: peewee's 5 s, or less when the
                # setting is lower
                timeout=min(busy_timeout, CONNECT_BUSY_TIMEOUT),
                check_same_thread=False,
                lock_type="IMMEDIATE",
            )
        elif url.split("://", 1)[0] in POSTGRES_SCHEMES:
            db = _postgres(url)
        else:
            db = connect(url)
    except (ValueError, RuntimeError, ImportError) as exc:
        raise SetupError(f"cannot open database: {exc}") from None
    retire = getattr(database.obj, "retire", None)
    if retire is not None and database.obj is not db:
        retire()  # the database bound before: its listener stops
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise SetupError(f"database unreachable: {str(exc).splitlines()[0]}") from None
    except peewee.ImproperlyConfigured:
        raise SetupError("PostgreSQL needs its driver: pip install 'immoshare[postgres]'") from None
    db.close()
    _bound = (url, busy_timeout)
    return db


#: The tables whose rows decide who may see what (``gateway.services.access``).
ACCESS_TABLES = frozenset({"agent", "credential", "contact", "grant", "property", "consent_record"})
_WRITE_TARGET = re.compile(
    r"\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r'\s+(?:"?\w+"?\.)?"?(\w+)"?',
    re.IGNORECASE,
)
_READ_ONLY = ("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE", "EXPLAIN")


def changes_access(sql: str) -> bool:
    """Whether the statement may change a row of :data:`ACCESS_TABLES` (or the
    schema). Errs towards yes: a needless yes costs one query, a wrong no would
    let a revoked contact in."""
    head = sql.lstrip()[:9].upper()
    if head.startswith(_READ_ONLY):
        return False
    target = _WRITE_TARGET.match(sql)
    return target is None or target.group(1).lower() in ACCESS_TABLES


class AccessStampedSqliteDatabase(peewee.SqliteDatabase):
    """SQLite that bumps the shared :class:`~gateway.access_stamp.AccessStamp` after
    every committed change to the access tables, made by any thread of any immoshare
    process; ``gateway.services.access`` reuses its answers while the stamp holds."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self.access_stamp = (
            LocalStamp()
            if database in ("", ":memory:")
            else AccessStamp(Path(f"{database}-access-stamp"))
        )
        self.access_answers: dict = {}  # gateway.services.access's reused answers

    def execute_sql(self, sql, params=None):
        if changes_access(sql):
            self._state.access_changed = True
        cursor = super().execute_sql(sql, params)
        if not self._state.conn.in_transaction:
            self._stamp_if_changed()  # committed by itself
        return cursor

    def commit(self):
        try:
            return super().commit()
        finally:
            self._stamp_if_changed()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._stamp_if_changed()  # harmless where nothing changed

    def _stamp_if_changed(self) -> None:
        if getattr(self._state, "access_changed", False):
            self._state.access_changed = False
            self.access_stamp.bump()


class GatewayPostgresDatabase(PooledPostgresqlDatabase):
    """PostgreSQL with UTC on both sides of every ``timestamp`` column, an access
    stamp, and pooled connections handed out without a round trip.

    The columns are ``timestamp`` (without zone) holding UTC, like SQLite. The session
    zone is UTC, so an aware value is stored as its UTC wall time whatever the
    server's ``timezone`` says, and values read back are aware UTC, as on SQLite.

    A committed change to the access tables is announced to every process
    (``gateway.access_notify``), whose stamp lets ``gateway.services.access`` reuse
    its answers until then.
    """

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self.access_stamp = access_notify.NotifiedStamp(self._listener_connection)
        self.access_answers: dict = {}  # gateway.services.access's reused answers

    def retire(self) -> None:
        """This process binds another database now: stop listening for this one's
        notices (``open_database``), which would hold a connection for nothing."""
        self.access_stamp.stop()

    def _initialize_connection(self, conn):
        import psycopg2.extensions

        psycopg2.extensions.register_type(_utc_timestamp_type(), conn)

    def _listener_connection(self):
        import psycopg2

        params = {**self.connect_params, "application_name": access_notify.LISTENER_NAME}
        return psycopg2.connect(database=self.database, **params)

    def _is_closed(self, conn):
        """Whether a pooled connection is dead, asked on every checkout. peewee
        sends ``SELECT 1`` each time, a round trip per request while holding the
        database's lock; an idle connection the server has not written to since is
        alive as far as a round trip could tell, and one it did write to (its goodbye
        on shutdown, a stray notice) is asked as before."""
        if conn.closed or self._adapter.txn_status(conn) != self._adapter.txn_idle:
            return super()._is_closed(conn)
        return access_notify.pending(conn) and super()._is_closed(conn)

    def execute_sql(self, sql, params=None):
        if not changes_access(sql):
            return super().execute_sql(sql, params)
        if self.in_transaction():
            self._state.access_changed = True  # announced by commit()
            return super().execute_sql(sql, params)
        cursor = super().execute_sql(sql, params)  # committed by itself
        self._announce()
        return cursor

    def commit(self):
        if not getattr(self._state, "access_changed", False):
            return super().commit()
        self._state.access_changed = False
        token = self._send_notice()
        result = super().commit()
        self._await_answers(token)
        return result

    def rollback(self):
        self._state.access_changed = False
        return super().rollback()

    def _announce(self) -> None:
        """Announce a change that committed by itself (a statement outside a
        transaction): the notice follows in a transaction of its own."""
        self._await_answers(self._send_notice())

    def _send_notice(self) -> str:
        token = access_notify.new_token()
        with peewee.__exception_wrapper__:
            self.cursor().execute(access_notify.announce_sql(token))
        return token

    def _await_answers(self, token: str) -> None:
        self.access_stamp.bump()
        try:
            missing = access_notify.await_answers(self._state.conn, token)
        except Exception as exc:  # noqa: BLE001 - committed; the reuse limit covers the rest
            log.warning("access change committed, its notice unconfirmed: %s", exc)
            return
        if missing:
            log.warning("access change committed; %d process(es) did not confirm it", missing)


def _utc_timestamp_type():
    import psycopg2.extensions

    def cast(value, cursor):
        moment = psycopg2.extensions.PYDATETIME(value, cursor)
        return None if moment is None else moment.replace(tzinfo=datetime.UTC)

    return psycopg2.extensions.new_type((1114,), "TIMESTAMP_UTC", cast)  # 1114: timestamp


def _postgres(url: str) -> GatewayPostgresDatabase:
    params = parse(url, unquote_password=True, unquote_user=True)
    for name, value in POSTGRES_POOL.items():
        params.setdefault(name, value)
    params["options"] = f"{params.get('options') or ''} -c timezone=UTC".strip()
    return GatewayPostgresDatabase(params.pop("database"), **params)


def is_pooled() -> bool:
    return isinstance(database.obj, PooledPostgresqlDatabase)


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)
