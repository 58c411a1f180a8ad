"""Webhooks: receivers of signed event deliveries, and their queue.

A webhook names a URL, the delivery types it wants (every tracking action of
INTERFACE.md plus ``first-open``; all by default) and a secret that signs each
delivery (``gateway.services.webhook_sender``). The event feed
(``gateway.services.event_feed``) queues one ``WebhookDelivery`` per event and type for
every webhook that wants it; the unique (webhook, event, type) makes queueing
idempotent, so processes that read the same events queue each delivery once.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
from urllib.parse import urlsplit

import peewee as pw

from gateway.clock import utc_now
from gateway.db import database
from gateway.errors import InvalidInput, NotFound
from gateway.models import AccessEvent, Webhook, WebhookDelivery
from gateway.services.first_open import FIRST_OPEN
from gateway.services.tracking import ACTIONS

#: What a webhook can receive: every tracking action, and a contact's first open.
DELIVERY_TYPES = (*ACTIONS, FIRST_OPEN)
MAX_URL_LENGTH = Webhook.url.max_length


def check_url(url: str) -> str:
    """The URL a webhook posts to: http or https, with a host, printable ASCII.

    :raises InvalidInput: anything else (the URL is not repeated beyond its start).
    """
    shown = url[:80].encode("ascii", "backslashreplace").decode()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"webhook URL is longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidInput(
            f"webhook URL {shown!r} holds spaces, control or non-ASCII characters "
            "(write a host name in its xn-- form, escape the path with %XX)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"webhook URL {shown!r} is not an http(s) URL with a host, "
            "e.g. https://crm.example.de/immoshare-hook"
        )
    if port == 0 or parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidInput(
            f"webhook URL {shown!r}: no port 0, no user or password, no #fragment "
            "(the signature authenticates each delivery)"
        )
    return url


def parse_types(text: str | None) -> tuple[str, ...] | None:
    """``--events``: comma-separated delivery types; None or empty for all of them.

    :raises InvalidInput: an unknown type.
    """
    if text is None or not text.strip():
        return None
    chosen = []
    for part in text.split(","):
        name = part.strip().lower()
        if name not in DELIVERY_TYPES:
            raise InvalidInput(
                f"unknown event type {part.strip()[:40]!r} — "
                f"choose from {', '.join(DELIVERY_TYPES)}"
            )
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def types_of(webhook: Webhook) -> tuple[str, ...]:
    """The delivery types ``webhook`` receives."""
    return tuple(webhook.events.split(",")) if webhook.events else DELIVERY_TYPES


@dataclasses.dataclass(frozen=True)
class NewWebhook:
    id: int
    url: str
    events: list[str]
    secret: str


def add_webhook(url: str, events: str | None = None) -> NewWebhook:
    """Register a webhook for events from now on; its secret is returned only here.

    :raises InvalidInput: see :func:`check_url` and :func:`parse_types`.
    """
    check_url(url)
    types = parse_types(events)
    secret = "whsec_" + secrets.token_hex(32)
    with database.atomic():
        newest = AccessEvent.select(pw.fn.MAX(AccessEvent.id)).scalar() or 0
        hook = Webhook.create(
            url=url,
            events=",".join(types) if types else None,
            secret=secret,
            since_event=newest,
        )
    return NewWebhook(hook.id, url, list(types_of(hook)), secret)


def get_webhook(webhook_id: int) -> Webhook:
    """:raises NotFound: no such webhook."""
    hook = Webhook.get_or_none(Webhook.id == webhook_id)
    if hook is None:
        raise NotFound(f"webhook {webhook_id} not found — see `immoshare webhook list`")
    return hook


def remove_webhook(webhook_id: int) -> None:
    """Remove a webhook and its queue; nothing more is sent to it.

    :raises NotFound: no such webhook.
    """
    with database.atomic():
        hook = get_webhook(webhook_id)
        WebhookDelivery.delete().where(WebhookDelivery.webhook == hook).execute()
        hook.delete_instance()


@dataclasses.dataclass(frozen=True)
class WebhookStatus:
    """A webhook as ``webhook list`` shows it: its delivery log in numbers."""

    id: int
    url: str
    events: list[str]
    pending: int
    sent: int
    failed: int
    failures: int
    last_status: int | None
    last_error: str | None
    last_attempt_at: datetime.datetime | None
    last_success_at: datetime.datetime | None
    retry_at: datetime.datetime | None


def list_webhooks() -> list[WebhookStatus]:
    counts: dict[tuple[int, str], int] = {}
    query = WebhookDelivery.select(
        WebhookDelivery.webhook, WebhookDelivery.state, pw.fn.COUNT(WebhookDelivery.id)
    ).group_by(WebhookDelivery.webhook, WebhookDelivery.state)
    for webhook_id, state, count in query.tuples():
        counts[(webhook_id, state)] = count
    return [
        WebhookStatus(
            id=hook.id,
            url=hook.url,
            events=list(types_of(hook)),
            pending=counts.get((hook.id, "pending"), 0),
            sent=counts.get((hook.id, "sent"), 0),
            failed=counts.get((hook.id, "failed"), 0),
            failures=hook.failures,
            last_status=hook.last_status,
            last_error=hook.last_error,
            last_attempt_at=hook.last_attempt_at,
            last_success_at=hook.last_success_at,
            retry_at=hook.retry_at if hook.failures else None,
        )
        for hook in Webhook.select().order_by(Webhook.id)
    ]


def active_hooks() -> list[tuple[Webhook, set[str]]]:
    """Every webhook with the delivery types it wants (empty: nobody listens)."""
    return [(hook, set(types_of(hook))) for hook in Webhook.select()]


def queue_deliveries(
    events: list[tuple[AccessEvent, tuple[str, ...]]],
    hooks: list[tuple[Webhook, set[str]]] | None = None,
) -> None:
    """Queue each (event, its delivery types) for every webhook that wants it and
    existed before the event (``hooks``: :func:`active_hooks`, read once per batch).
    Idempotent: a delivery already queued stays as it is. An event needs ``id``
    only: a model or the event feed's plain rows."""
    if hooks is None:
        hooks = active_hooks()
    if not hooks or not events:
        return
    now = utc_now()
    rows = [
        {"webhook": hook.id, "event_id": event.id, "type": kind, "created_at": now}
        for event, kinds in events
        for hook, wanted in hooks
        if event.id > hook.since_event
        for kind in kinds
        if kind in wanted
    ]
    for start in range(0, len(rows), 200):
        WebhookDelivery.insert_many(rows[start : start + 200]).on_conflict_ignore().execute()
