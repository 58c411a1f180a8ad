"""Sending queued webhook deliveries: signed, bounded, retried with back-off.

Each delivery is ``POST URL`` with the body ``{"id", "type", "at", "event"}`` and the
header ``X-Immoshare-Signature: t=UNIX_TIME,v1=HEX``, HEX being HMAC-SHA256 under the
webhook's secret of ``"UNIX_TIME." + body`` (INTERFACE.md, "Webhook delivery"). The id
names the event and type, so a receiver drops a delivery it has seen.

A receiver is asked once at a time, in event order: a process leases the webhook
(``gateway.services.leases``), sends its pending deliveries until one fails, then
waits a back-off that doubles with each failure in a row (at most an hour). Only a
2xx counts; a redirect is not followed. Each request is bounded: 5 seconds per
connect, send or read, 10 in all, 64 KiB of the answer read. This runs in the
background worker (``gateway.services.event_feed``), never while serving a request.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import secrets
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

import peewee as pw

from gateway.clock import iso, utc_now
from gateway.db import database
from gateway.errors import GatewayError
from gateway.models import AccessEvent, Webhook, WebhookDelivery
from gateway.services import leases, webhooks
from gateway.services.tracking import PUBLIC_FIELDS, public_event

SIGNATURE_HEADER = "X-Immoshare-Signature"
#: Seconds for each connect, send or read, and for a whole request.
STEP_TIMEOUT = 5.0
REQUEST_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 64 * 1024
#: A process holds a webhook this long at most; it stops sending before half of it.
LEASE = datetime.timedelta(minutes=2)
ROUND_SECONDS = LEASE.total_seconds() / 2
ROUND_DELIVERIES = 100
MAX_BACKOFF_SECONDS = 3600
#: A delivery still failing after this long is given up (state ``failed``), so a
#: receiver gone for good does not grow the queue forever.
GIVE_UP_AFTER = datetime.timedelta(days=3)


class DeliveryFailed(GatewayError):
    """The receiver could not be reached or did not answer 2xx."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of ``X-Immoshare-Signature`` for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def delivery_id(event_id: int, kind: str) -> str:
    """The stable id of one event's delivery of one type, the same on every retry."""
    return f"evt-{event_id}-{kind}"


def delivery_body(identifier: str, kind: str, event: dict) -> bytes:
    document = {"id": identifier, "type": kind, "at": event["at"], "event": event}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def post(url: str, body: bytes, secret: str) -> int:
    """POST ``body`` signed to ``url``; return the answer's status (redirects not
    followed, at most ``MAX_RESPONSE_BYTES`` of it read).

    :raises DeliveryFailed: no answer within the bounds.
    """
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme.lower() == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=STEP_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=STEP_TIMEOUT)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "immoshare-webhook",
        SIGNATURE_HEADER: signature(secret, int(time.time()), body),
    }
    # A receiver that trickles its answer byte by byte is cut at the overall deadline.
    cutoff = threading.Timer(REQUEST_TIMEOUT, _cut, (connection,))
    cutoff.start()
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return response.status
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300] or "no answer") from None
    finally:
        cutoff.cancel()
        connection.close()


def _cut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _attempt(hook: Webhook, body: bytes) -> tuple[int | None, str | None]:
    """Send once; (status, None) on a 2xx, else (status or None, the reason)."""
    try:
        status = post(hook.url, body, hook.secret)
    except DeliveryFailed as exc:
        return None, str(exc)
    if 200 <= status < 300:
        return status, None
    return status, f"the receiver answered {status}"


def deliver_due(now: datetime.datetime | None = None, stop: threading.Event | None = None) -> int:
    """Send the pending deliveries of every webhook that is not waiting out a back-off
    or leased by another process; return how many were sent."""
    now = now or utc_now()
    waiting = WebhookDelivery.select().where(
        (WebhookDelivery.webhook == Webhook.id) & (WebhookDelivery.state == "pending")
    )
    due = (
        Webhook.select(Webhook.id)
        .where((Webhook.retry_at.is_null() | (Webhook.retry_at <= now)) & pw.fn.EXISTS(waiting))
        .order_by(Webhook.id)
    )
    sent = 0
    for (hook_id,) in due.tuples():
        if stop is not None and stop.is_set():
            break
        sent += _deliver_round(hook_id, now, stop)
    return sent


def _deliver_round(hook_id: int, now: datetime.datetime, stop: threading.Event | None) -> int:
    if (
        leases.claim(Webhook, Webhook.id == hook_id, until=Webhook.retry_at, now=now, lease=LEASE)
        != 1
    ):
        return 0
    hook = Webhook.get_or_none(Webhook.id == hook_id)
    if hook is None:
        return 0
    started = time.monotonic()
    pending = list(
        WebhookDelivery.select()
        .where((WebhookDelivery.webhook == hook_id) & (WebhookDelivery.state == "pending"))
        .order_by(WebhookDelivery.event_id, WebhookDelivery.id)
        .limit(ROUND_DELIVERIES)
    )
    sent = 0
    for delivery in pending:
        if (stop is not None and stop.is_set()) or time.monotonic() - started > ROUND_SECONDS:
            break
        event = AccessEvent.get_or_none(AccessEvent.id == delivery.event_id)
        if event is None:  # pruned, or the database was replaced: nothing left to send
            _record_attempt(delivery, "failed")
            continue
        body = delivery_body(
            delivery_id(event.id, delivery.type), delivery.type, public_event(event)
        )
        status, error = _attempt(hook, body)
        attempted = utc_now()
        if error is not None:
            failures = hook.failures + 1
            backoff = min(2 ** min(failures, 12), MAX_BACKOFF_SECONDS)
            with database.atomic():
                _record_attempt(delivery, "pending")
                Webhook.update(
                    failures=failures,
                    last_attempt_at=attempted,
                    last_status=status,
                    last_error=error[:300],
                    retry_at=attempted + datetime.timedelta(seconds=backoff),
                ).where(Webhook.id == hook_id).execute()
                WebhookDelivery.update(state="failed").where(
                    (WebhookDelivery.webhook == hook_id)
                    & (WebhookDelivery.state == "pending")
                    & (WebhookDelivery.created_at < attempted - GIVE_UP_AFTER)
                ).execute()
            return sent
        with database.atomic():
            _record_attempt(delivery, "sent", attempted)
            Webhook.update(
                failures=0,
                last_attempt_at=attempted,
                last_success_at=attempted,
                last_status=status,
                last_error=None,
            ).where(Webhook.id == hook_id).execute()
        hook.failures = 0
        sent += 1
    Webhook.update(retry_at=None).where(Webhook.id == hook_id).execute()  # the lease ends
    return sent


def _record_attempt(delivery: WebhookDelivery, state: str, sent_at=None) -> None:
    WebhookDelivery.update(
        state=state, attempts=WebhookDelivery.attempts + 1, sent_at=sent_at
    ).where(WebhookDelivery.id == delivery.id).execute()


def send_test(webhook_id: int) -> int:
    """Send one signed delivery of type ``test`` now; return the receiver's status.

    :raises NotFound: no such webhook.
    :raises DeliveryFailed: the receiver was not reached or did not answer 2xx.
    """
    hook = webhooks.get_webhook(webhook_id)
    event = dict.fromkeys(PUBLIC_FIELDS)
    event["at"] = iso(utc_now())
    body = delivery_body("test-" + secrets.token_hex(8), "test", event)
    status, error = _attempt(hook, body)
    Webhook.update(last_attempt_at=utc_now(), last_status=status, last_error=error).where(
        Webhook.id == hook.id
    ).execute()
    if error is not None:
        raise DeliveryFailed(f"webhook {hook.id}: {error}")
    return status
