"""Named schema migrations, applied in order and recorded in ``_migrations``.

``immoshare init`` applies pending ones; ``serve`` refuses to start while any are
pending. A migration never changes once released: add a new one instead.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import peewee as pw

from gateway import models
from gateway.clock import utc_now
from gateway.db import BaseModel, database


class AppliedMigration(BaseModel):
    name = pw.CharField(primary_key=True, max_length=100)
    applied_at = pw.DateTimeField(default=utc_now)

    class Meta:
        table_name = "_migrations"


def _initial_schema() -> None:
    database.create_tables(models.ALL_MODELS)


def _add_missing_columns(model, names: tuple[str, ...]) -> None:
    """Add ``names`` of ``model`` unless present: ``0001`` creates tables from the
    current models, so a fresh home already has them."""
    from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate

    table = model._meta.table_name
    present = {c.name for c in database.get_columns(table)}
    migrator = (
        PostgresqlMigrator if isinstance(database.obj, pw.PostgresqlDatabase) else SqliteMigrator
    )(database.obj)
    migrate(
        *(
            migrator.add_column(table, name, model._meta.fields[name])
            for name in names
            if name not in present
        )
    )


def _consent_statements_and_mail_retry() -> None:
    _add_missing_columns(models.ConsentRecord, ("statements", "language", "mail_next_at"))


def _tracking_evidence() -> None:
    """Event digests and range starts, catalog ctime, erasures and prune checkpoints."""
    database.create_tables([models.SubjectKey, models.Erasure, models.ChainCheckpoint])
    _add_missing_columns(models.AccessEvent, ("subject", "range_start"))
    _add_missing_columns(models.CatalogEntry, ("ctime_ns",))


def _catalog_crc32() -> None:
    """The CRC-32 of each catalogued version, for zips sent by sendfile.
    Rows catalogued before have none until the next scan hashes them again."""
    _add_missing_columns(models.CatalogEntry, ("crc32",))


def _api_key_last_pull() -> None:
    """Each API key's last cursor and pull time, for ``immoshare doctor``."""
    _add_missing_columns(models.ApiKey, ("last_cursor", "last_pull_at"))


def _mail_outbox() -> None:
    """Queued mails to contacts besides the consent confirmation (invitations)."""
    database.create_tables([models.OutboxMail])


def _webhooks_notifications() -> None:
    """Webhooks and their delivery queue, agents' e-mail and notification queue, first
    opens, and the cursor that follows the events: it starts at the newest event, so
    events of the past are neither sent nor notified."""
    database.create_tables(
        [
            models.Webhook,
            models.WebhookDelivery,
            models.FirstOpen,
            models.AgentNotification,
            models.FeedCursor,
        ]
    )
    _add_missing_columns(models.Agent, ("email",))
    newest = models.AccessEvent.select(pw.fn.MAX(models.AccessEvent.id)).scalar() or 0
    models.FeedCursor.insert(name="events", position=newest).on_conflict_ignore().execute()


def _property_archived_and_contact_person() -> None:
    """When the CRM withdrew a listing (OpenImmo import), and the property's contact
    person (name, phone, e-mail) shown to contacts."""
    _add_missing_columns(
        models.Property, ("archived_at", "contact_name", "contact_phone", "contact_email")
    )


MIGRATIONS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("0001_initial_schema", _initial_schema),
    ("0002_consent_statements_and_mail_retry", _consent_statements_and_mail_retry),
    ("0003_tracking_evidence", _tracking_evidence),
    ("0004_catalog_crc32", _catalog_crc32),
    ("0005_api_key_last_pull", _api_key_last_pull),
    ("0007_mail_outbox", _mail_outbox),
    ("0010_webhooks_notifications", _webhooks_notifications),
    ("0012_property_archived_and_contact_person", _property_archived_and_contact_person),
)


def pending_migrations() -> list[str]:
    """Names of migrations not yet applied, in order."""
    if not AppliedMigration.table_exists():
        return [name for name, _ in MIGRATIONS]
    done = {m.name for m in AppliedMigration.select()}
    return [name for name, _ in MIGRATIONS if name not in done]


def apply_migrations() -> list[str]:
    """Apply every pending migration, each in its own transaction; return their names.

    On PostgreSQL several nodes may run ``init`` at once (README, "Scaling out"): an advisory lock
    lets one migrate while the others wait and then find nothing pending.
    """
    with _migration_lock():
        database.create_tables([AppliedMigration])
        applied = []
        for name, migrate in MIGRATIONS:
            with database.atomic():
                if AppliedMigration.get_or_none(AppliedMigration.name == name):
                    continue
                migrate()
                AppliedMigration.create(name=name)
            applied.append(name)
        return applied


#: Same key in every process: "immoshare migrate".
_PG_MIGRATION_LOCK = 0x696D6D6F_6D696772


@contextmanager
def _migration_lock():
    if not isinstance(database.obj, pw.PostgresqlDatabase):
        yield
        return
    database.execute_sql("SELECT pg_advisory_lock(%s)", (_PG_MIGRATION_LOCK,))
    try:
        yield
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (_PG_MIGRATION_LOCK,))
