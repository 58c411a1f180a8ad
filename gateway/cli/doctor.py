"""``immoshare doctor``: print what ``services.doctor`` finds, exit 1 on an error."""

from __future__ import annotations

import click

from gateway.cli import cli
from gateway.cli.output import json_option, print_json
from gateway.services import doctor
from gateway.services.home import open_home


@cli.command("doctor", short_help="Find out why a share or the tracking does not work.")
@click.option("--property", "property_key", metavar="KEY", help="Check this property.")
@click.option("--contact", "contact_ref", metavar="REF", help="Check this contact.")
@json_option
@click.pass_obj
def doctor_command(obj, property_key, contact_ref, as_json):
    """Check the installation and, for a property, a contact or both, why the share
    is not shown or the tracking delivers no data. Every finding says how to fix
    it. Exit 1 when at least one is an error.

    \b
    Example:
        immoshare doctor
        immoshare doctor --property obj-17 --contact 4711
        immoshare doctor --property obj-17 --json
    """
    # Pending migrations are a finding, not a refusal to look.
    config = open_home(obj.home, require_current=False)
    diagnosis = doctor.diagnose(config, property_key=property_key, contact_ref=contact_ref)
    if as_json:
        print_json({"ok": diagnosis.ok, "findings": diagnosis.findings})
    else:
        _print_findings(diagnosis)
    if not diagnosis.ok:
        raise SystemExit(1)


def _print_findings(diagnosis: doctor.Diagnosis) -> None:
    # Not wrapped: a command in a fix must survive copy and paste.
    for finding in diagnosis.findings:
        click.echo(f"{finding.severity.upper()} {finding.code} ({finding.subject})")
        click.echo(f"  {finding.message}")
        click.echo(f"  fix: {finding.fix}")
        click.echo()
    errors = sum(1 for f in diagnosis.findings if f.severity == doctor.ERROR)
    warnings = len(diagnosis.findings) - errors
    if not diagnosis.findings:
        click.echo("Nothing wrong found.")
    else:
        click.echo(f"{errors} error(s), {warnings} warning(s).")
