"""The settings table and how a frozen ``Config`` is merged from it.

Precedence, lowest first: defaults here < ``immoshare.yaml`` in the home <
``IMMOSHARE_<NAME>`` environment variables < command-line flags. Read once,
passed explicitly, never at import time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import InvalidInput, SetupError

CONFIG_FILE = "immoshare.yaml"
ENV_PREFIX = "IMMOSHARE_"


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


def _list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value)
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {text!r}")
        return text

    return parse


def _optional_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _seconds(value: Any) -> float:
    seconds = float(value)
    if not 0 <= seconds <= 3600:
        raise ValueError(f"expected seconds from 0 to 3600, got {value!r}")
    return seconds


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "base_url",
        None,
        _optional_str,
        "Public URL prefix for printed links, e.g. https://docs.example.de",
    ),
    Setting("host", "127.0.0.1", str, "Address to listen on"),
    Setting("port", 8080, int, "TCP port to listen on"),
    Setting(
        "database_url",
        None,
        _optional_str,
        "peewee database URL; default: SQLite file immoshare.db in the home",
    ),
    Setting(
        "database_busy_timeout",
        10.0,
        _seconds,
        "Seconds an SQLite request waits for another writer's lock before it gets 503",
    ),
    Setting(
        "redis_url",
        None,
        _optional_str,
        "Redis URL for WebDAV locks and rate limits; none: single process",
    ),
    Setting("smtp_host", None, _optional_str, "SMTP server for consent confirmations"),
    Setting("smtp_port", 25, int, "SMTP port"),
    Setting("smtp_from", None, _optional_str, "Sender address of confirmations"),
    Setting("smtp_user", None, _optional_str, "SMTP login name"),
    Setting("smtp_password", None, _optional_str, "SMTP password (use the environment)"),
    Setting("smtp_tls", False, _bool, "Use STARTTLS"),
    Setting(
        "mail_dir",
        None,
        _optional_str,
        "Write every mail as an .eml file into this folder instead of sending it (demo, tests)",
    ),
    Setting(
        "consent_requires_mail",
        True,
        _bool,
        "Accept a consent only when its confirmation can be mailed (the durable medium)",
    ),
    Setting(
        "ip_privacy",
        "shorten",
        _choice("shorten", "full", "drop"),
        "How client IPs are stored: shorten (/24, /48), full or drop",
    ),
    Setting("retention_days", 0, int, "Prune tracking events older than this; 0 keeps all"),
    Setting(
        "evidence_retention_years",
        3,
        int,
        "Years after the end of the year of its last use that evidence is kept: an "
        "erased contact's consent evidence (GDPR Art. 17 (3)(e)), served file versions",
    ),
    Setting("max_upload_bytes", 2 * 1024**3, int, "Largest accepted WebDAV upload"),
    Setting(
        "trash_days",
        30,
        int,
        "Days an agent's deleted files stay restorable in the trash; 0 keeps them",
    ),
    Setting("min_password_length", 12, int, "Shortest accepted agent password"),
    Setting(
        "notify_agent",
        "first-open",
        _choice("first-open", "all", "none"),
        "E-mail agents on a contact's first open and each consent (first-open), "
        "on every access of a contact (all), or never (none)",
    ),
    Setting(
        "notify_batch_seconds",
        60,
        int,
        "Notifications arriving within this many seconds go to an agent as one mail",
    ),
    Setting(
        "trusted_proxies",
        (),
        _list,
        "Addresses or networks whose X-Forwarded-For/-Proto headers are believed",
    ),
    Setting(
        "rate_limit_failures",
        10,
        int,
        "Failed logins or unknown links per client before 429; 0 disables",
    ),
    Setting(
        "rate_limit_window",
        600,
        int,
        "Seconds a client's failures count (and it waits once over the limit)",
    ),
    Setting("tls_cert", None, _optional_str, "TLS certificate chain (PEM) for serve"),
    Setting("tls_key", None, _optional_str, "TLS private key (PEM) for serve"),
    Setting("socket_timeout", 30, float, "Seconds a connection may stay silent"),
    Setting(
        "header_timeout", 20, float, "Seconds a client has to send a request's headers (slowloris)"
    ),
    Setting("threads", 200, int, "Worker threads: one per concurrent transfer"),
    Setting("block_size", 256 * 1024, int, "Bytes read per chunk when serving files"),
    Setting(
        "secret_key",
        None,
        _optional_str,
        "Key that derives link tokens; default: the file secret.key in the home",
    ),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


@dataclasses.dataclass(frozen=True)
class Config:
    """Every setting, merged, plus the home it was read from."""

    home: Path
    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def properties_dir(self) -> Path:
        return self.home / "properties"

    @property
    def trash_dir(self) -> Path:
        """Agents' deleted files, beside ``properties/`` so that no share shows them."""
        return self.home / "trash"

    @property
    def database_target(self) -> str:
        return self.values["database_url"] or f"sqlite:///{self.home / 'immoshare.db'}"

    def with_overrides(self, **overrides: Any) -> Config:
        merged = dict(self.values)
        merged.update(_parse_all(overrides, "command line"))
        return Config(self.home, merged)


def _parse_all(raw: dict[str, Any], source: str) -> dict[str, Any]:
    parsed = {}
    for name, value in raw.items():
        setting = SETTINGS_BY_NAME.get(name)
        if setting is None:
            raise InvalidInput(f"unknown setting {name!r} in {source}")
        try:
            parsed[name] = setting.parse(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"setting {name} in {source}: {exc}") from None
    return parsed


def default_home() -> Path:
    """The platform data folder of the user, used when no home is named."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "immoshare"


def load_config(
    home: Path, overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Config:
    """Merge defaults, the home's yaml, the environment and ``overrides``.

    :raises SetupError: the yaml file cannot be read.
    :raises InvalidInput: a setting is unknown or has a bad value.
    """
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in SETTINGS}
    config_file = home / CONFIG_FILE
    if config_file.exists():
        try:
            from_file = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SetupError(f"cannot read {config_file.name}: {exc}") from None
        if not isinstance(from_file, dict):
            raise SetupError(f"{config_file.name} must be a mapping of setting: value")
        values.update(_parse_all(from_file, config_file.name))
    from_env = {
        s.name: environ[ENV_PREFIX + s.name.upper()]
        for s in SETTINGS
        if ENV_PREFIX + s.name.upper() in environ
    }
    values.update(_parse_all(from_env, "environment"))
    values.update(
        _parse_all({k: v for k, v in (overrides or {}).items() if v is not None}, "command line")
    )
    return Config(home=home.resolve(), values=values)
