"""Checks of the installation under ``immoshare doctor``: ``secret.key``, disk
space, the server and the address links point at, database and migrations, SMTP
for consent confirmations, sample consent texts, the file catalog.
"""

from __future__ import annotations

import os
import shlex
import shutil
import ssl
import urllib.error
import urllib.request

import peewee

from gateway import migrations, urls
from gateway.db import database
from gateway.models import Property
from gateway.security import SECRET_FILE
from gateway.services import catalog, consent, grants, mail_transport
from gateway.services.checkup import Checkup, Finding, error, human_size, property_names, warning
from gateway.services.properties import storage_folder


def check_secret_key(checkup: Checkup) -> list[Finding]:
    """``secret.key`` derives every link: it must be readable, text, not empty."""
    config = checkup.config
    if config.secret_key:
        return []
    path = config.home / SECRET_FILE
    restore = (
        f"restore {path} from your backup: every printed link is derived from it. Only "
        f"without a backup: move it away and run `{checkup.command('init')}`, which writes "
        "a new one — then every link changes; print the new ones with `immoshare link`"
    )
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8").strip()
        problem = None if text else "is empty"
    except FileNotFoundError:
        problem = "is missing"
    except IsADirectoryError:
        problem = "is a folder, not a file"
    except UnicodeDecodeError:
        problem = "is not text (garbled)"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror})"
    if problem:
        message = f"{path} {problem}: every link is derived from it, so links fail or change"
        return [error("secret_key_unreadable", "secret.key", message, restore)]
    if os.stat(path).st_mode & 0o077:
        return [
            warning(
                "secret_key_permissions",
                "secret.key",
                f"{path} can be read by other users of this machine, who could forge links",
                f"chmod 600 {shlex.quote(str(path))}",
            )
        ]
    return []


def check_disk_space(checkup: Checkup) -> list[Finding]:
    """Less than ``min_free_bytes`` free where the home or the property folders are."""
    findings = []
    seen = set()
    for path in (checkup.config.home, checkup.config.properties_dir):
        try:
            device = os.stat(path).st_dev
            free = shutil.disk_usage(path).free
        except OSError:
            continue
        if device in seen:
            continue
        seen.add(device)
        if free < checkup.limits.min_free_bytes:
            findings.append(
                error(
                    "disk_space_low",
                    str(path),
                    f"only {human_size(free)} free on the disk of {path} (the limit is "
                    f"{human_size(checkup.limits.min_free_bytes)}): uploads fail with 507 and "
                    "tracking journals cannot grow",
                    "free space on that disk: delete old property folders of sold "
                    "properties, or prune old events "
                    f"(`{checkup.command('tracking prune --before YYYY-MM-DD --yes')}`), "
                    "or move the home to a larger disk",
                )
            )
    return findings


def check_link_base(checkup: Checkup) -> list[Finding]:
    """The address links point at answers ``GET /healthz`` like immoshare."""
    config = checkup.config
    base = grants.base_url(config)
    problem = probe_health(
        urls.health_url(base), timeout=checkup.limits.probe_timeout, verify=bool(config.base_url)
    )
    if config.base_url:
        if problem is None:
            return []
        return [
            error(
                "link_base_unreachable",
                "server",
                f"link base not reachable: links point at {base}, and GET {base}/healthz "
                f"failed ({problem}); contacts see an error instead of the documents",
                f"check that `{checkup.command('serve')}` runs and that {base} reaches it "
                "(DNS, reverse proxy, firewall, TLS certificate); base_url is set in "
                f"{checkup.settings_file}",
            )
        ]
    findings = []
    if problem is not None:
        findings.append(
            error(
                "server_not_running",
                "server",
                f"server not running: nothing answers GET {base}/healthz ({problem})",
                f"start it: `{checkup.command('serve')}` (or the systemd unit "
                "immoshare@PORT); then run doctor again",
            )
        )
    findings.append(
        warning(
            "base_url_unset",
            "server",
            f"base_url is not set: links are printed as {base}/s/…, which only reach "
            "contacts if that address is reachable from their network",
            f"set the public address in {checkup.settings_file}, e.g. "
            "`base_url: https://unterlagen.example.de`",
        )
    )
    return findings


def probe_health(url: str, *, timeout: float, verify: bool = True) -> str | None:
    """None when ``url`` answers 200 ``ok``; otherwise what went wrong, in words.
    ``verify=False`` accepts any certificate (asking the local server whether it runs)."""
    context = None
    if url.startswith("https:") and not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:
            body = answer.read(64)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        return str(getattr(exc.reason, "strerror", None) or exc.reason)
    except (TimeoutError, OSError) as exc:
        return f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else str(exc)
    if body.strip() != b"ok":
        return "it answers, but not as immoshare does"
    return None


def check_database(checkup: Checkup) -> list[Finding]:
    try:
        database.execute_sql("SELECT 1")
    except peewee.DatabaseError as exc:
        return [
            error(
                "database_unreachable",
                "database",
                f"the database does not answer: {str(exc).splitlines()[0] if str(exc) else exc}",
                f"check database_url in {checkup.settings_file} (or IMMOSHARE_DATABASE_URL) "
                "and that the database server runs; the other checks need it",
            )
        ]
    return []


def check_migrations(checkup: Checkup) -> list[Finding]:
    pending = migrations.pending_migrations()
    if not pending:
        return []
    return [
        error(
            "migrations_pending",
            "database",
            f"{len(pending)} database migration(s) pending ({', '.join(pending)}): the "
            "server refuses to start, and doctor checks no further",
            f"`{checkup.command('init')}`, then run doctor again",
        )
    ]


def _consent_properties(checkup: Checkup) -> list[str]:
    query = Property.select(Property.key).where(Property.requires_consent == True)  # noqa: E712
    if checkup.property_key is not None:
        query = query.where(Property.key == checkup.property_key)
    return [p.key for p in query.order_by(Property.key)]


def check_smtp(checkup: Checkup) -> list[Finding]:
    """Properties that ask for consent need mail for the contact's confirmation; a
    pickup folder (``mail_dir``) is no mail to contacts."""
    config = checkup.config
    keys = _consent_properties(checkup)
    folder = mail_transport.pickup_folder(config)
    if folder is not None:
        return [
            warning(
                "mail_to_folder",
                "smtp",
                f"mail_dir is set: every mail (consent confirmations, invitations) is written "
                f"to the local folder {folder} and reaches nobody",
                "for real use remove mail_dir and set smtp_host, smtp_port, smtp_from in "
                f"{checkup.settings_file}",
            )
        ]
    if not keys or mail_transport.mail_configured(config):
        return []
    fix = (
        f"set smtp_host, smtp_port, smtp_from (and smtp_user, smtp_password, smtp_tls) "
        f"in {checkup.settings_file}, then restart `{checkup.command('serve')}`"
    )
    asks = f"{property_names(keys)} {'asks' if len(keys) == 1 else 'ask'} for consent"
    if config.consent_requires_mail:
        return [
            error(
                "smtp_missing",
                "smtp",
                f"{asks}, but no SMTP server is set: the consent page refuses every consent "
                "(its confirmation e-mail is the copy on a durable medium), so contacts "
                "cannot see the documents",
                fix,
            )
        ]
    return [
        warning(
            "smtp_missing",
            "smtp",
            f"{asks}, but no SMTP server is set and consent_requires_mail is off: consents "
            "are accepted without a confirmation e-mail, so no copy on a durable medium "
            "exists",
            fix,
        )
    ]


def check_consent_texts(checkup: Checkup) -> list[Finding]:
    """Contacts must not be shown the shipped sample texts."""
    if not _consent_properties(checkup):
        return []
    titles = {"widerruf": "Widerrufsbelehrung", "agb": "AGB"}
    return [
        error(
            "consent_sample_text",
            f"consent {kind}",
            f"the {titles[kind]} contacts accept is the unedited shipped sample",
            "have it checked by your lawyer and fill in the bracketed parts, then "
            f"`{checkup.command(f'consent set {kind} FILE')}`",
        )
        for kind in consent.KINDS
        if consent.sample_in_use(kind)
    ]


def check_catalog(checkup: Checkup) -> list[Finding]:
    """The catalog names the version of each file served; it must match the folder."""
    config = checkup.config
    keys = (
        [checkup.property_key]
        if checkup.property_key is not None
        else [p.key for p in Property.select(Property.key).order_by(Property.key)]
    )
    findings = []
    for key in keys:
        folder = storage_folder(config, key)
        if not folder.is_dir():
            findings.append(
                error(
                    "property_folder_missing",
                    f"property {key}",
                    f"the folder {folder} of property '{key}' is missing: contacts and "
                    "agents see an empty share",
                    f"restore it from your backup (`mkdir -p {shlex.quote(str(folder))}` "
                    "for an empty one)",
                )
            )
            continue
        drift = catalog.catalog_drift(config, key)
        if drift.total:
            findings.append(
                error(
                    "catalog_out_of_sync",
                    f"property {key}",
                    f"the file catalog of '{key}' is out of sync with its folder: "
                    f"{drift.uncatalogued} file(s) not catalogued, {drift.vanished} gone, "
                    f"{drift.changed} changed; tracking may name no version for them",
                    f"restart `{checkup.command('serve')}`: it catalogs every property "
                    "folder at start. A running server catches up within seconds of a "
                    "change it sees (not of writes from another NFS client)",
                )
            )
    return findings
