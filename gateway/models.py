"""Tables. Models hold fields and indexes only; services own every use case."""

from __future__ import annotations

import peewee as pw

from gateway.clock import utc_now
from gateway.db import BaseModel


class Agent(BaseModel):
    """An agent (Makler/in): mounts every property share read-write over WebDAV."""

    name = pw.CharField(unique=True, max_length=64)
    password_hash = pw.CharField()
    created_at = pw.DateTimeField(default=utc_now)
    # Where notifications of contacts' first opens and consents go (notify_agent).
    email = pw.CharField(null=True, max_length=254)


class Property(BaseModel):
    """An Objekt: one storage folder ``properties/<key>/``, one share."""

    key = pw.CharField(unique=True, max_length=64)
    title = pw.CharField(max_length=300)
    requires_consent = pw.BooleanField(default=True)
    # Random input of the preview token; the token itself is never stored.
    preview_nonce = pw.CharField(max_length=64)
    preview_token_hash = pw.CharField(unique=True, max_length=64)
    created_at = pw.DateTimeField(default=utc_now)
    # Set when the CRM withdrew the listing (OpenImmo ``aktion DELETE``); files and
    # grants stay, the listing shows as archived.
    archived_at = pw.DateTimeField(null=True)
    # The agent contacts call about this property: shown on its pages and in the
    # notice of a contact whose access ended.
    contact_name = pw.CharField(max_length=200, null=True)
    contact_phone = pw.CharField(max_length=64, null=True)
    contact_email = pw.CharField(max_length=254, null=True)


class Contact(BaseModel):
    """An Adresse of the agent's CRM: a prospect. ``ref`` is the CRM's address number.

    A GDPR erasure deletes the row with its login and grants; an ``Erasure``
    pseudonym stands in for the ref in tracking events (services/privacy).
    """

    ref = pw.CharField(unique=True, max_length=64)
    name = pw.CharField(max_length=200)
    email = pw.CharField(null=True, max_length=254)
    created_at = pw.DateTimeField(default=utc_now)


class Credential(BaseModel):
    """A contact's personal read-only WebDAV login; one per contact, for all grants."""

    contact = pw.ForeignKeyField(Contact, backref="credentials", unique=True, on_delete="CASCADE")
    username = pw.CharField(unique=True, max_length=64)
    password_hash = pw.CharField()
    created_at = pw.DateTimeField(default=utc_now)


class Grant(BaseModel):
    """A contact's access to one property: link, WebDAV visibility, consent.

    The link token is an HMAC of ``nonce`` under the home's secret key, so a copy of
    the database alone reveals no live link; lookups go through ``token_hash``.
    """

    property = pw.ForeignKeyField(Property, backref="grants", on_delete="CASCADE")
    contact = pw.ForeignKeyField(Contact, backref="grants", on_delete="CASCADE")
    nonce = pw.CharField(unique=True, max_length=64)
    token_hash = pw.CharField(unique=True, max_length=64)
    active = pw.BooleanField(default=True)
    expires = pw.DateField(null=True)
    created_at = pw.DateTimeField(default=utc_now)
    revoked_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("property", "contact"), True),)


class ConsentText(BaseModel):
    """One version of the Widerrufsbelehrung or the AGB, as evidence of what was shown."""

    kind = pw.CharField(max_length=16)  # "widerruf" or "agb"
    version = pw.IntegerField()
    body = pw.TextField()
    sha256 = pw.CharField(max_length=64)
    created_at = pw.DateTimeField(default=utc_now)

    class Meta:
        indexes = ((("kind", "version"), True),)


class ConsentRecord(BaseModel):
    """What a contact accepted, when, and from where; one per grant."""

    grant = pw.ForeignKeyField(Grant, backref="consents", unique=True, on_delete="CASCADE")
    at = pw.DateTimeField(default=utc_now)
    widerruf_version = pw.IntegerField()
    widerruf_sha256 = pw.CharField(max_length=64)
    agb_version = pw.IntegerField(null=True)
    agb_sha256 = pw.CharField(null=True, max_length=64)
    early_start = pw.BooleanField()
    widerruf_acknowledged = pw.BooleanField()
    agb_accepted = pw.BooleanField(null=True)
    ip = pw.CharField(null=True, max_length=64)
    user_agent = pw.CharField(null=True, max_length=512)
    # none (no SMTP or no address) | pending | retrying | sent | failed (gave up)
    mail_state = pw.CharField(default="none", max_length=16)
    mail_attempts = pw.IntegerField(default=0)
    mail_message_id = pw.CharField(null=True, max_length=300)
    mail_sha256 = pw.CharField(null=True, max_length=64)
    mail_error = pw.CharField(null=True, max_length=300)
    # The wording of each statement as shown and ticked: JSON [{"id", "text"}].
    statements = pw.TextField(null=True)
    language = pw.CharField(null=True, max_length=8)
    mail_next_at = pw.DateTimeField(null=True)


class OutboxMail(BaseModel):
    """A mail to a contact about one grant, other than the consent confirmation
    (``kind``: ``invitation``), with its delivery state (``services/outbox``)."""

    kind = pw.CharField(max_length=16)
    grant = pw.ForeignKeyField(Grant, backref="mails", on_delete="CASCADE")
    # The address the mail was queued for: kept as evidence of where it went.
    recipient = pw.CharField(max_length=254)
    created_at = pw.DateTimeField(default=utc_now)
    mail_state = pw.CharField(default="pending", max_length=16)
    mail_attempts = pw.IntegerField(default=0)
    mail_message_id = pw.CharField(null=True, max_length=300)
    mail_sha256 = pw.CharField(null=True, max_length=64)
    mail_error = pw.CharField(null=True, max_length=300)
    mail_next_at = pw.DateTimeField(null=True, index=True)


class AccessEvent(BaseModel):
    """One tracked access. Fields are fixed by INTERFACE.md; ``hash`` chains the rows.

    Identity is stored as plain text (not foreign keys) so that events outlive
    properties and contacts, and an erased contact's events keep their facts
    under a pseudonym.
    """

    id = pw.BigAutoField()
    at = pw.DateTimeField()
    property = pw.CharField(max_length=64, index=True)
    contact = pw.CharField(null=True, max_length=64, index=True)
    agent = pw.CharField(null=True, max_length=64)
    channel = pw.CharField(max_length=8)
    action = pw.CharField(max_length=16)
    path = pw.TextField(default="")
    bytes = pw.BigIntegerField(default=0)
    size = pw.BigIntegerField(null=True)
    complete = pw.BooleanField(default=False)
    status = pw.IntegerField(null=True)
    sha256 = pw.CharField(null=True, max_length=64)
    ip = pw.CharField(null=True, max_length=64)
    user_agent = pw.CharField(null=True, max_length=512)
    # Unique per emitted event, so replaying a journal after a crash never duplicates.
    uid = pw.CharField(unique=True, max_length=64)
    prev_hash = pw.CharField(max_length=64)
    hash = pw.CharField(max_length=64)
    # Keyed digest of (contact, ip, user_agent) that the hash covers instead of them,
    # so an erasure can replace them without breaking the chain (services/tracking).
    subject = pw.CharField(default="", max_length=64)
    # First byte of a Range response (206), so reports can fold range reads.
    range_start = pw.BigIntegerField(null=True)


class SubjectKey(BaseModel):
    """The random key of a contact ref's event digests; deleted on erasure, which
    leaves the digests of the erased contact's events unlinkable."""

    ref = pw.CharField(unique=True, max_length=64)
    key = pw.CharField(max_length=64)


class Erasure(BaseModel):
    """A GDPR erasure: the pseudonym that replaced a contact ref in events."""

    pseudonym = pw.CharField(unique=True, max_length=64)
    events = pw.IntegerField(default=0)
    erased_at = pw.DateTimeField(default=utc_now)


class ChainCheckpoint(BaseModel):
    """Where a prune cut the event chain: the chain goes on from ``last_id``/``last_hash``."""

    last_id = pw.BigIntegerField()
    last_hash = pw.CharField(max_length=64)
    pruned = pw.IntegerField()
    before = pw.DateTimeField()
    created_at = pw.DateTimeField(default=utc_now)


class ApiKey(BaseModel):
    """A bearer key for ``/api/v1``; stored as a hash, shown once."""

    name = pw.CharField(unique=True, max_length=64)
    key_hash = pw.CharField(unique=True, max_length=64)
    created_at = pw.DateTimeField(default=utc_now)
    revoked_at = pw.DateTimeField(null=True)
    # The cursor of the key's last pull from /api/v1/events, and when: how far
    # behind the CRM is (``immoshare doctor``).
    last_cursor = pw.BigIntegerField(null=True)
    last_pull_at = pw.DateTimeField(null=True)


class OperatorSetting(BaseModel):
    """Settings the operator changes at run time (branding), shared by all processes."""

    name = pw.CharField(unique=True, max_length=64)
    value = pw.TextField(null=True)


class CatalogEntry(BaseModel):
    """One file of a property as last seen on disk; the sha256 names the version."""

    property = pw.CharField(max_length=64)
    path = pw.TextField()
    size = pw.BigIntegerField()
    mtime_ns = pw.BigIntegerField()
    sha256 = pw.CharField(max_length=64)
    # Changes on every write or replace and cannot be set back like mtime.
    ctime_ns = pw.BigIntegerField(null=True)
    # CRC-32 of the same version, so a zip can send the file by sendfile without
    # reading it. Unsigned 32 bits: too big for PostgreSQL's integer.
    crc32 = pw.BigIntegerField(null=True)

    class Meta:
        indexes = ((("property", "path"), True),)


class Webhook(BaseModel):
    """A receiver of signed event deliveries (services/webhooks). ``retry_at`` is both
    the back-off after a failure and the lease of the process that is sending."""

    url = pw.CharField(max_length=2000)
    # Comma-separated delivery types; null: every type.
    events = pw.TextField(null=True)
    # The HMAC key of the signatures; the receiver holds a copy.
    secret = pw.CharField(max_length=100)
    # Events up to this id happened before the webhook existed and are not sent.
    since_event = pw.BigIntegerField(default=0)
    created_at = pw.DateTimeField(default=utc_now)
    retry_at = pw.DateTimeField(null=True)
    failures = pw.IntegerField(default=0)  # in a row, since the last success
    last_attempt_at = pw.DateTimeField(null=True)
    last_success_at = pw.DateTimeField(null=True)
    last_status = pw.IntegerField(null=True)
    last_error = pw.CharField(null=True, max_length=300)


class WebhookDelivery(BaseModel):
    """One event of one type for one webhook: the queue and the delivery log."""

    webhook = pw.ForeignKeyField(Webhook, backref="deliveries", on_delete="CASCADE")
    event_id = pw.BigIntegerField()
    type = pw.CharField(max_length=16)
    state = pw.CharField(default="pending", max_length=16)  # pending | sent | failed
    attempts = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utc_now)
    sent_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = (
            (("webhook", "event_id", "type"), True),
            (("webhook", "state"), False),
        )


class FirstOpen(BaseModel):
    """Which event was a contact's first access to a property (services/first_open)."""

    property = pw.CharField(max_length=64)
    contact = pw.CharField(max_length=64)
    event_id = pw.BigIntegerField()

    class Meta:
        indexes = ((("property", "contact"), True),)


class AgentNotification(BaseModel):
    """One event to tell one agent about by e-mail; sent in batches
    (services/notifications). ``due_at`` is when it may go (batch window, retry);
    ``lease_until`` and ``lease_token`` mark the batch a process is sending."""

    agent = pw.ForeignKeyField(Agent, backref="notifications", on_delete="CASCADE")
    event_id = pw.BigIntegerField()
    kind = pw.CharField(max_length=16)  # first-open, or the event's action
    state = pw.CharField(default="pending", max_length=16)  # pending | sent | failed
    due_at = pw.DateTimeField()
    attempts = pw.IntegerField(default=0)
    lease_until = pw.DateTimeField(null=True)
    lease_token = pw.CharField(null=True, max_length=32)
    message_id = pw.CharField(null=True, max_length=300)
    error = pw.CharField(null=True, max_length=300)
    created_at = pw.DateTimeField(default=utc_now)

    class Meta:
        indexes = (
            (("agent", "event_id", "kind"), True),
            (("state", "due_at"), False),
        )


class FeedCursor(BaseModel):
    """How far a follower of the tracking events has read (services/event_feed)."""

    name = pw.CharField(unique=True, max_length=32)
    position = pw.BigIntegerField(default=0)


ALL_MODELS = (
    Agent,
    Property,
    Contact,
    Credential,
    Grant,
    ConsentText,
    ConsentRecord,
    AccessEvent,
    ApiKey,
    OperatorSetting,
    CatalogEntry,
    SubjectKey,
    Erasure,
    ChainCheckpoint,
    Webhook,
    WebhookDelivery,
    FirstOpen,
    AgentNotification,
    FeedCursor,
    OutboxMail,
)
