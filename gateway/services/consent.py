"""Consent: versioned legal texts (Widerrufsbelehrung, AGB) and what a contact accepted.

The evidence for a broker's commission after a withdrawal (§ 357a BGB) is the exact
text shown, the two separate statements, and when and from where they were given:
each text version is stored with its sha256, and each consent record names the
versions and repeats the statements' wording as shown.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import peewee

from gateway.clock import utc_now
from gateway.config import Config
from gateway.db import database
from gateway.errors import InvalidInput
from gateway.models import ConsentRecord, ConsentText, Grant
from gateway.security import cut_user_agent, shorten_ip
from gateway.services import durable_medium
from gateway.services.grant_rule import needs_consent as needs_consent  # the consent form asks it
from gateway.services.tracking import Event, record_event
from gateway.shipped import CONSENT_FOLDER, shipped_bytes

KINDS = ("widerruf", "agb")
MAX_TEXT_CHARS = 200_000

# The statements a contact ticks, each its own unticked checkbox, in the order shown.
EARLY_START = "early_start"
WIDERRUF = "widerruf"
AGB = "agb"
STATEMENTS = {
    EARLY_START: {
        "de": "Ich verlange ausdrücklich, dass Sie mit Ihrer Maklerdienstleistung, insbesondere "
        "der Übersendung der Objektunterlagen, vor Ablauf der Widerrufsfrist beginnen.",
        "en": "I expressly request that you begin your brokerage service, in particular "
        "sending the property documents, before the withdrawal period ends.",
    },
    WIDERRUF: {
        "de": "Ich habe die Widerrufsbelehrung und das Muster-Widerrufsformular erhalten. Mir ist "
        "bekannt, dass ich mein Widerrufsrecht bei vollständiger Vertragserfüllung durch "
        "Sie verliere.",
        "en": "I have received the cancellation policy and the model withdrawal form. I know "
        "that I lose my right of withdrawal once you have fully performed the contract.",
    },
    AGB: {
        "de": "Ich habe die Allgemeinen Geschäftsbedingungen gelesen und akzeptiere sie.",
        "en": "I have read and accept the general terms and conditions.",
    },
}


class MissingStatements(InvalidInput):
    """A required checkbox was not ticked; ``missing`` names which."""

    def __init__(self, missing: list[str]):
        super().__init__("missing statements: " + ", ".join(missing))
        self.missing = missing


class ConfirmationImpossible(InvalidInput):
    """The confirmation could not be mailed, and ``consent_requires_mail`` is set;
    ``reason`` is one of ``durable_medium``'s reasons."""

    def __init__(self, reason: str):
        super().__init__(f"the consent confirmation cannot be mailed: {reason}")
        self.reason = reason


class TextsChanged(InvalidInput):
    """A new version of a text was set after the form was shown."""


@dataclasses.dataclass(frozen=True)
class ConsentTexts:
    """What the consent form shows now: the current Widerruf text and the AGB if set."""

    widerruf: ConsentText
    agb: ConsentText | None

    @property
    def statement_ids(self) -> tuple[str, ...]:
        return (EARLY_START, WIDERRUF) + ((AGB,) if self.agb is not None else ())


def text_sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def shipped_sample(kind: str) -> bytes | None:
    """The sample text of ``kind`` shipped in ``config/consent/``; None if there is none."""
    try:
        return shipped_bytes(CONSENT_FOLDER, f"{kind}.txt")
    except FileNotFoundError:
        return None


def parse_text(raw: bytes, origin: str) -> str:
    """Decode and normalise a text file: UTF-8, ``\\n`` line ends, no trailing blanks.

    :raises InvalidInput: not UTF-8 text, empty, or too long.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{origin} is not UTF-8 text") from None
    if "\0" in text:
        raise InvalidInput(f"{origin} is not a text file")
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()
    if not text:
        raise InvalidInput(f"{origin} is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"{origin} is longer than {MAX_TEXT_CHARS} characters")
    return text


def add_text(kind: str, body: str) -> ConsentText:
    """Store ``body`` as the next version of ``kind``; it is shown from now on.

    :raises InvalidInput: unknown kind.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown text {kind!r}: expected {' or '.join(KINDS)}")
    with database.atomic():
        last = (
            ConsentText.select(ConsentText.version)
            .where(ConsentText.kind == kind)
            .order_by(ConsentText.version.desc())
            .first()
        )
        return ConsentText.create(
            kind=kind,
            version=(last.version + 1) if last else 1,
            body=body,
            sha256=text_sha256(body),
        )


def _latest(kind: str) -> ConsentText | None:
    return (
        ConsentText.select()
        .where(ConsentText.kind == kind)
        .order_by(ConsentText.version.desc())
        .first()
    )


def _ensure_default_widerruf() -> ConsentText:
    """The Widerruf text is never missing: version 1 is the shipped sample."""
    current = _latest(WIDERRUF)
    if current is not None:
        return current
    body = parse_text(shipped_bytes(CONSENT_FOLDER, f"{WIDERRUF}.txt"), "the shipped Widerruf text")
    try:
        with database.atomic():
            return ConsentText.create(kind=WIDERRUF, version=1, body=body, sha256=text_sha256(body))
    except peewee.IntegrityError:  # another process stored version 1 first
        current = _latest(WIDERRUF)
        if current is None:
            raise
        return current


def current_texts() -> ConsentTexts:
    return ConsentTexts(widerruf=_ensure_default_widerruf(), agb=_latest(AGB))


def list_texts() -> list[ConsentText]:
    """Every stored version of every text, oldest first within a kind."""
    _ensure_default_widerruf()
    return list(ConsentText.select().order_by(ConsentText.kind.desc(), ConsentText.version))


def is_sample(text: ConsentText) -> bool:
    """True while the text is the unmodified shipped sample."""
    sample = shipped_sample(text.kind)
    return sample is not None and text_sha256(parse_text(sample, text.kind)) == text.sha256


def sample_in_use(kind: str) -> bool:
    """True while contacts are shown the unedited shipped sample of ``kind``: its
    newest version is the sample, or (Widerruf only) none was ever stored, so the
    sample is stored at the first consent form. Reads only."""
    latest = _latest(kind)
    if latest is None:
        return kind == WIDERRUF
    return is_sample(latest)


def record_consent(
    config: Config,
    grant: Grant,
    *,
    ticked: set[str],
    shown_versions: dict[str, int | None],
    language: str,
    ip: str | None,
    user_agent: str | None,
) -> ConsentRecord:
    """Store what the contact accepted, once per grant; queue the confirmation e-mail.

    :raises ConfirmationImpossible: the confirmation cannot be mailed and must be.
    :raises TextsChanged: a text got a new version since the form was shown.
    :raises MissingStatements: a required statement was not ticked.
    """
    contact = grant.contact
    blocker = durable_medium.consent_blocker(config, contact)
    if blocker is not None:
        raise ConfirmationImpossible(blocker)
    texts = current_texts()
    shown_agb = texts.agb.version if texts.agb else None
    if (
        shown_versions.get(WIDERRUF) != texts.widerruf.version
        or shown_versions.get(AGB) != shown_agb
    ):
        raise TextsChanged("the texts were updated while the form was open")
    missing = [s for s in texts.statement_ids if s not in ticked]
    if missing:
        raise MissingStatements(missing)
    lang = language if language in ("de", "en") else "de"
    statements = [{"id": s, "text": STATEMENTS[s][lang]} for s in texts.statement_ids]
    now = utc_now()
    short_ip = shorten_ip(ip, config.ip_privacy)
    agent_string = cut_user_agent(user_agent)
    with database.atomic():
        existing = ConsentRecord.get_or_none(ConsentRecord.grant == grant)
        if existing is not None:
            return existing
        # Without consent_requires_mail, a consent that cannot be mailed is stored with
        # mail_state "none": no copy on a durable medium exists.
        mail = durable_medium.mail_blocker(config, contact) is None
        record = ConsentRecord.create(
            grant=grant,
            at=now,
            widerruf_version=texts.widerruf.version,
            widerruf_sha256=texts.widerruf.sha256,
            agb_version=shown_agb,
            agb_sha256=texts.agb.sha256 if texts.agb else None,
            early_start=True,
            widerruf_acknowledged=True,
            agb_accepted=True if texts.agb else None,
            ip=short_ip,
            user_agent=agent_string,
            statements=json.dumps(statements, ensure_ascii=False),
            language=lang,
            mail_state="pending" if mail else "none",
            mail_next_at=now if mail else None,
        )
        record_event(
            Event(
                property=grant.property.key,
                channel="web",
                action="consent",
                contact=contact.ref,
                complete=True,
                status=200,
                ip=short_ip,
                user_agent=agent_string,
                at=now,
            )
        )
    return record


def statements_of(record: ConsentRecord) -> list[dict]:
    return json.loads(record.statements) if record.statements else []


def text_version(kind: str, version: int | None) -> ConsentText | None:
    if version is None:
        return None
    return ConsentText.get_or_none((ConsentText.kind == kind) & (ConsentText.version == version))
