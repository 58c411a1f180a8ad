"""The home folder: create it, open its database, check migrations."""

from __future__ import annotations

from pathlib import Path

from gateway import migrations
from gateway.config import CONFIG_FILE, Config, load_config
from gateway.db import open_database
from gateway.errors import SetupError
from gateway.security import load_or_create_secret
from gateway.shipped import DEFAULT_CONFIG, shipped_text


def default_config_text() -> str:
    """The commented default ``immoshare.yaml`` (``config/immoshare.yaml``)."""
    return shipped_text(DEFAULT_CONFIG)


def init_home(home: Path) -> list[str]:
    """Create the home (idempotent) and apply pending migrations; return their names.

    :raises SetupError: the folder cannot be created or the database opened.
    """
    default_text = default_config_text()  # a broken installation is not a home problem
    try:
        home.mkdir(parents=True, exist_ok=True)
        (home / "properties").mkdir(exist_ok=True)
        config_file = home / CONFIG_FILE
        if not config_file.exists():
            config_file.write_text(default_text, encoding="utf-8")
    except OSError as exc:
        raise SetupError(f"cannot create home {home}: {exc.strerror}") from None
    config = load_config(home)
    load_or_create_secret(home, config.secret_key)
    open_database(config.database_target, config.database_busy_timeout)
    from gateway.db import database

    with database.connection_context():
        return migrations.apply_migrations()


def open_home(home: Path, overrides: dict | None = None, *, require_current: bool = True) -> Config:
    """Load the config of an existing home and connect its database.

    :raises SetupError: no home there, or migrations pending.
    """
    if not (home / CONFIG_FILE).exists():
        raise SetupError(f"no immoshare home at {home} — run `immoshare --home {home} init`")
    config = load_config(home, overrides)
    open_database(config.database_target, config.database_busy_timeout)
    if require_current:
        from gateway.db import database

        with database.connection_context():
            pending = migrations.pending_migrations()
        if pending:
            raise SetupError(
                f"{len(pending)} database migration(s) pending ({', '.join(pending)}) — "
                f"run `immoshare --home {home} init` to apply them"
            )
    return config
