"""``immoshare webhook``: receivers of signed event deliveries (a CRM, a script)."""

from __future__ import annotations

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import webhook_sender, webhooks


@cli.group()
def webhook():
    """Webhooks: events POSTed to a URL, signed, as they happen."""


@webhook.command("add")
@click.argument("url")
@click.option(
    "--events",
    metavar="LIST",
    help="Comma-separated types to send: " + ", ".join(webhooks.DELIVERY_TYPES) + ". Default: all.",
)
@json_option
@click.pass_obj
def webhook_add(obj, url, events, as_json):
    """Send events from now on to URL (http or https).

    Prints the secret that signs each delivery (header X-Immoshare-Signature); it is
    shown only here.

    \b
    Example:
        immoshare webhook add https://crm.example.de/immoshare-hook --events first-open,consent
    """
    obj.config()
    created = webhooks.add_webhook(url, events)
    data = {
        "id": created.id,
        "url": created.url,
        "events": created.events,
        "secret": created.secret,
    }
    if as_json:
        print_json(data)
        return
    click.echo(f"Webhook {created.id} added: {created.url} ({', '.join(created.events)}).")
    click.echo(f"Secret: {created.secret}")
    note("Verify X-Immoshare-Signature with it; `immoshare webhook test ID` sends a test.")


@webhook.command("list")
@json_option
@click.pass_obj
def webhook_list(obj, as_json):
    """List webhooks and their delivery log.

    Per webhook: pending, sent and given-up deliveries, failures in a row, the last
    answer or error.

    \b
    Example:
        immoshare webhook list --json
    """
    obj.config()
    rows = webhooks.list_webhooks()
    if as_json:
        print_json(
            [
                {
                    "id": row.id,
                    "url": row.url,
                    "events": row.events,
                    "pending": row.pending,
                    "sent": row.sent,
                    "failed": row.failed,
                    "failures": row.failures,
                    "last_status": row.last_status,
                    "last_error": row.last_error,
                    "last_attempt_at": iso(row.last_attempt_at),
                    "last_success_at": iso(row.last_success_at),
                    "retry_at": iso(row.retry_at),
                }
                for row in rows
            ]
        )
        return
    print_table(
        [
            [
                row.id,
                row.url,
                ",".join(row.events) if len(row.events) < len(webhooks.DELIVERY_TYPES) else "all",
                row.pending,
                row.sent,
                row.failed,
                row.failures,
                row.last_error or row.last_status,
                iso(row.last_attempt_at),
            ]
            for row in rows
        ],
        ["ID", "URL", "EVENTS", "PENDING", "SENT", "FAILED", "FAILURES", "LAST", "LAST_AT"],
    )


@webhook.command("remove")
@click.argument("webhook_id", metavar="ID", type=int)
@click.pass_obj
def webhook_remove(obj, webhook_id):
    """Remove a webhook and its pending deliveries.

    \b
    Example:
        immoshare webhook remove 1
    """
    obj.config()
    webhooks.remove_webhook(webhook_id)
    note(f"Webhook {webhook_id} removed.")


@webhook.command("test")
@click.argument("webhook_id", metavar="ID", type=int)
@click.pass_obj
def webhook_test(obj, webhook_id):
    """Send one signed test delivery now.

    Exit 1 unless the receiver answers 2xx.

    \b
    Example:
        immoshare webhook test 1
    """
    obj.config()
    status = webhook_sender.send_test(webhook_id)
    click.echo(f"Webhook {webhook_id}: the receiver answered {status}.")
