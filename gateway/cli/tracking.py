"""``immoshare tracking``: reports, the CRM export, chain verification, pruning.

Each command first stores events left in the journal of a server process that is
gone (``recover_journals``), so what a killed server delivered is never missing
from a report or an export.
"""

from __future__ import annotations

import datetime

import click

from gateway.cli import cli
from gateway.cli.output import note, print_json, print_table, to_jsonable
from gateway.services import export, reports, tracking
from gateway.services.grants import parse_date

REPORT_CSV_FIELDS = (
    "role",
    "property",
    "contact",
    "agent",
    "path",
    "first",
    "last",
    "opens",
    "downloads",
    "complete",
    "bytes",
    "sha256",
)


def _ready(obj):
    config = obj.config()
    tracking.recover_journals(config)
    tracking.flush()
    return config


def _date(ctx, param, value):
    try:
        return parse_date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


@cli.group("tracking")
def tracking_group():
    """Tracked accesses: reports, CRM export, tamper check, pruning."""


def _minute(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _print_report_table(report: reports.Report) -> None:
    by_contact = report.contact is not None
    for title, rows, role in (
        ("Contacts", report.contacts, "contact"),
        ("Agents' own reads", report.agents, "agent"),
    ):
        if role == "agent" and not rows:
            continue
        if report.agents:
            click.echo(f"{title}:")
        reader = "AGENT" if role == "agent" else "CONTACT"
        headers = [
            "PROPERTY" if by_contact else reader,
            "DOCUMENT",
            "FIRST (UTC)",
            "LAST (UTC)",
            "OPENS",
            "DOWNLOADS",
            "COMPLETE",
        ]
        if report.property is None and not by_contact:
            headers.insert(1, "PROPERTY")
        table = []
        for row in rows:
            who = row.agent if role == "agent" else row.contact
            cells = [
                row.property if by_contact else who,
                row.path,
                _minute(row.first),
                _minute(row.last),
                row.opens,
                row.downloads,
                "yes" if row.complete else "no",
            ]
            if report.property is None and not by_contact:
                cells.insert(1, row.property)
            table.append(cells)
        print_table(table, headers)


def _report_csv(report: reports.Report) -> str:
    rows = [to_jsonable(row) for row in report.contacts + report.agents]
    return export.csv_text(rows, header=True, fields=REPORT_CSV_FIELDS)


@tracking_group.command("show", short_help="Who opened or downloaded which document.")
@click.option("--property", "property_key", metavar="KEY", help="Only this property.")
@click.option("--contact", metavar="REF", help="Only this contact.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.pass_obj
def tracking_show(obj, property_key, contact, as_json, as_csv):
    """Per document: who opened or downloaded it, first and last time, how often,
    and whether it arrived complete. Range reads of a file manager count as one.

    \b
    Example:
        immoshare tracking show --property obj-17
        immoshare tracking show --contact 4711 --csv > 4711.csv
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    _ready(obj)
    report = reports.access_report(property_key=property_key, contact=contact)
    if as_json:
        print_json(report)
    elif as_csv:
        click.echo(_report_csv(report), nl=False)
    else:
        _print_report_table(report)


@tracking_group.command("export", short_help="Print the events after a cursor (CRM export).")
@click.option(
    "--since",
    metavar="CURSOR",
    help="The cursor the last export printed; none: from the first event.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ndjson", "csv"]),
    default="ndjson",
    show_default=True,
    help="One JSON object per line, or CSV with a header.",
)
@click.pass_obj
def tracking_export(obj, since, fmt):
    """Print the events after CURSOR, oldest first; the next cursor goes to stderr.

    \b
    Example:
        immoshare tracking export --since "$(cat cursor)" >> events.ndjson 2> cursor
    """
    _ready(obj)
    cursor = export.parse_cursor(since)
    header = True
    for page in export.pages_after(str(cursor)):
        if fmt == "csv":
            click.echo(export.csv_text(page.events, header=header), nl=False)
            header = False
        else:
            click.echo("".join(export.ndjson_lines(page.events)), nl=False)
        cursor = page.next
    click.echo(str(cursor), err=True)


@tracking_group.command("verify", short_help="Check the hash chain of all events.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def tracking_verify(obj, as_json):
    """Check the hash chain of all events; exit 1 and name the first broken event
    if any row was changed, deleted, inserted or reordered.

    \b
    Example:
        immoshare tracking verify
    """
    _ready(obj)
    result = tracking.verify_chain()
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "head": result.head_hash,
                "broken_event": result.broken_id,
                "reason": result.reason,
            }
        )
        if not result.ok:
            raise SystemExit(1)
        return
    if not result.ok:
        raise click.ClickException(
            f"event {result.broken_id} is broken: {result.reason} "
            f"({result.checked} event(s) before it are intact)"
        )
    click.echo(f"{result.checked} event(s) checked, chain intact. Head: {result.head_hash}")


@tracking_group.command("prune", short_help="Delete events older than a day.")
@click.option(
    "--before",
    required=True,
    callback=_date,
    metavar="YYYY-MM-DD",
    help="Delete events recorded before this day (UTC).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def tracking_prune(obj, before, yes):
    """Delete events older than a day; `tracking verify` checks on from there.
    The setting retention_days does this daily.

    \b
    Example:
        immoshare tracking prune --before 2025-01-01 --yes
    """
    _ready(obj)
    if not yes:
        click.confirm(f"Delete tracking events recorded before {before}?", abort=True, err=True)
    result = tracking.prune_before(_midnight(before))
    note(f"{result.pruned} event(s) pruned.")


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
