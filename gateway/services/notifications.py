"""E-mail to agents when their contacts open the documents or consent (``notify_agent``).

``first-open`` (the default) tells of a contact's first open of a property
(``gateway.services.first_open``) and of each consent; ``all`` of every access of a
contact besides; ``none`` of nothing. The models know no agent responsible for a
property, so every agent with an e-mail address is told. The event feed
(``gateway.services.event_feed``) queues one ``AgentNotification`` per agent and event;
what arrives for an agent within ``notify_batch_seconds`` goes out as one mail, German
first and English below, each line with who, what, when and the contact's page on the
dashboard. Sending leases the batch (``gateway.services.leases``) and retries failed
mails like the consent confirmations do, through ``mail_transport.send``.
"""

from __future__ import annotations

import datetime
import email.policy
import secrets
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from gateway import urls
from gateway.clock import utc_now
from gateway.config import Config
from gateway.db import database
from gateway.models import AccessEvent, Agent, AgentNotification, Contact, Property
from gateway.services import branding, leases, mail_transport
from gateway.services.first_open import FIRST_OPEN, is_access
from gateway.services.grants import base_url
from gateway.services.outbox import RETRY_DELAYS

LEASE = datetime.timedelta(minutes=2)
#: More in one mail is not read; the rest follows in the next one.
MAX_ITEMS_PER_MAIL = 200

_WHAT = {
    FIRST_OPEN: (
        "hat die Unterlagen zum ersten Mal geöffnet",
        "opened the documents for the first time",
    ),
    "consent": (
        "hat der Widerrufsbelehrung zugestimmt",
        "accepted the cancellation notice",
    ),
    "list": ("hat den Ordner „{path}“ angesehen", 'looked at the folder "{path}"'),
    "open": ("hat „{path}“ geöffnet", 'opened "{path}"'),
    "download": ("hat „{path}“ heruntergeladen", 'downloaded "{path}"'),
    "zip": ("hat ein ZIP der Unterlagen heruntergeladen", "downloaded a zip of the documents"),
}


def notification_kind(config: Config, event: AccessEvent, first_open: bool) -> str | None:
    """What ``event`` is worth telling agents under ``notify_agent``, or None."""
    if config.notify_agent == "none" or event.contact is None or event.agent is not None:
        return None
    if first_open:
        return FIRST_OPEN
    if event.action == "consent":
        return "consent"
    if config.notify_agent == "all" and is_access(event):
        return event.action
    return None


def notifying(config: Config) -> bool:
    """Whether events can cause notifications at all: a setting other than "none"
    and mail configured (``queue_notifications`` queues nothing otherwise)."""
    return config.notify_agent != "none" and mail_transport.mail_configured(config)


def recipients() -> list[Agent]:
    """The agents to tell: every agent with an e-mail address."""
    return list(Agent.select().where(Agent.email.is_null(False) & (Agent.email != "")))


def queue_notifications(config: Config, items: list[tuple[AccessEvent, str]]) -> None:
    """Queue (event, kind) for every recipient, due after the batch window.
    Idempotent: what is queued already stays as it is. Nothing is queued while mail
    is not configured."""
    if not items or not notifying(config):
        return
    agents = recipients()
    now = utc_now()
    due = now + datetime.timedelta(seconds=max(0, config.notify_batch_seconds))
    rows = [
        {"agent": agent.id, "event_id": event.id, "kind": kind, "due_at": due, "created_at": now}
        for event, kind in items
        for agent in agents
    ]
    for start in range(0, len(rows), 200):
        AgentNotification.insert_many(rows[start : start + 200]).on_conflict_ignore().execute()


def send_due(config: Config, now: datetime.datetime | None = None) -> int:
    """Send one mail to each agent whose oldest waiting notification is due; return
    how many mails went out."""
    if not mail_transport.mail_configured(config):
        return 0
    now = now or utc_now()
    free = AgentNotification.lease_until.is_null() | (AgentNotification.lease_until <= now)
    agents = (
        AgentNotification.select(AgentNotification.agent)
        .where((AgentNotification.state == "pending") & (AgentNotification.due_at <= now) & free)
        .distinct()
    )
    return sum(_send_batch(config, agent_id, now) for (agent_id,) in agents.tuples())


def _send_batch(config: Config, agent_id: int, now: datetime.datetime) -> int:
    token = secrets.token_hex(8)
    waiting = (AgentNotification.agent == agent_id) & (AgentNotification.state == "pending")
    claimed = leases.claim(
        AgentNotification,
        waiting,
        until=AgentNotification.lease_until,
        now=now,
        lease=LEASE,
        lease_token=token,
    )
    if not claimed:
        return 0
    mine = AgentNotification.lease_token == token
    batch = list(
        AgentNotification.select()
        .where(mine & (AgentNotification.state == "pending"))
        .order_by(AgentNotification.event_id)
        .limit(MAX_ITEMS_PER_MAIL)
    )
    ids = [item.id for item in batch]
    agent = Agent.get_or_none(Agent.id == agent_id)
    sent_ok = False
    try:
        if agent is None or not agent.email:
            raise ValueError("the agent has no e-mail address any more")
        message = build_message(config, agent, batch)
        mail_transport.send(config, message)
        sent_ok = True
    except mail_transport.DELIVERY_ERRORS as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    with database.atomic():
        if sent_ok:
            AgentNotification.update(
                state="sent",
                attempts=AgentNotification.attempts + 1,
                message_id=message["Message-ID"],
                error=None,
            ).where(AgentNotification.id.in_(ids)).execute()
        else:
            for item in batch:
                attempts = item.attempts + 1
                gave_up = attempts > len(RETRY_DELAYS)
                AgentNotification.update(
                    state="failed" if gave_up else "pending",
                    attempts=attempts,
                    error=error,
                    due_at=now if gave_up else now + RETRY_DELAYS[attempts - 1],
                ).where(AgentNotification.id == item.id).execute()
        # The lease ends: rows beyond this mail go with the next one.
        AgentNotification.update(lease_until=None, lease_token=None).where(mine).execute()
    return 1 if sent_ok else 0


def _when(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def _lines(config: Config, batch: list[AgentNotification]) -> tuple[list[str], list[str]]:
    """The German and the English line of each notification."""
    events = {
        e.id: e for e in AccessEvent.select().where(AccessEvent.id.in_([n.event_id for n in batch]))
    }
    refs = {e.contact for e in events.values()}
    names = {c.ref: c.name for c in Contact.select().where(Contact.ref.in_(list(refs)))}
    keys = {e.property for e in events.values()}
    titles = {p.key: p.title for p in Property.select().where(Property.key.in_(list(keys)))}
    origin = base_url(config)
    german, english = [], []
    for item in batch:
        event = events.get(item.event_id)
        if event is None:  # pruned meanwhile
            continue
        who = (
            f"{names[event.contact]} ({event.contact})" if event.contact in names else event.contact
        )
        title = titles.get(event.property, event.property)
        at = _when(event.at)
        path = "/" + event.path.lstrip("/")
        de, en = _WHAT.get(item.kind, (item.kind, item.kind))
        link = urls.agent_contact_url(origin, event.contact)
        german += [
            f"- {at:%d.%m.%Y %H:%M} UTC: {who} {de.format(path=path)} – „{title}“ "
            f"({event.property})",
            f"  Kontakt im Dashboard: {link}",
        ]
        english += [
            f'- {at:%Y-%m-%d %H:%M} UTC: {who} {en.format(path=path)} – "{title}" '
            f"({event.property})",
            f"  Contact on the dashboard: {link}",
        ]
    return german, english


def build_message(config: Config, agent: Agent, batch: list[AgentNotification]) -> EmailMessage:
    """One mail to ``agent`` about every notification of ``batch``."""
    german, english = _lines(config, batch)
    count = len(german) // 2
    agency = branding.get_branding(config).name
    message = EmailMessage(policy=email.policy.SMTP)
    if count == 1 and batch[0].kind == FIRST_OPEN:
        subject = "Unterlagen geöffnet / Documents opened"
    else:
        subject = f"{count} neue Zugriffe / {count} new accesses"
    message["Subject"] = f"{subject} – immoshare"
    message["From"] = formataddr((agency, config.smtp_from)) if agency else config.smtp_from
    message["To"] = formataddr((agent.name, agent.email))
    message["Date"] = format_datetime(utc_now())
    message["Message-ID"] = mail_transport.new_message_id(config)
    message["Auto-Submitted"] = "auto-generated"
    body = [
        f"Guten Tag {agent.name},",
        "",
        "bei Ihren Interessenten gibt es Neues:",
        "",
        *german,
        "",
        "Diese Nachricht kommt automatisch; die Einstellung notify_agent legt fest, "
        "worüber Sie benachrichtigt werden.",
        "",
        "-- English --",
        "",
        f"Hello {agent.name},",
        "",
        "news from your contacts:",
        "",
        *english,
        "",
        "This message is sent automatically; the setting notify_agent decides what "
        "you are told about.",
    ]
    message.set_content("\n".join(body))
    return message


def pending_count() -> int:
    """Notifications waiting to be mailed (for tests and ``doctor``)."""
    return AgentNotification.select().where(AgentNotification.state == "pending").count()
