"""One database handle, bound late: SQLite in the home by default, PostgreSQL for scale-out.

Every request and command runs inside ``database.connection_context()``; cheroot is
threaded and peewee keeps one connection per thread.
"""

from __future__ import annotations

import peewee
from playhouse.db_url import connect

from gateway.errors import SetupError

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "foreign_keys": 1,
    "busy_timeout": 10000,  # ms to wait for the writer lock instead of failing
    "synchronous": "normal",  # WAL + normal survives a process kill; fsync at checkpoint
}


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def open_database(url: str) -> peewee.Database:
    """Connect ``database`` to ``url`` and return the concrete database.

    :raises SetupError: the URL is malformed or the database does not answer.
    """
    try:
        if url.startswith("sqlite"):
            db = connect(url, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
        else:
            db = connect(url)
    except (ValueError, RuntimeError, ImportError) as exc:
        raise SetupError(f"cannot open database: {exc}") from None
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise SetupError(f"database unreachable: {str(exc).splitlines()[0]}") from None
    db.close()
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)
