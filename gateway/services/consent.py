"""Consent: versioned legal texts (Widerrufsbelehrung, AGB) and what a contact accepted.

The evidence for a broker's commission after a withdrawal (§ 357a BGB) is the exact
text shown, the two separate statements, and when and from where they were given:
each text version is stored with its sha256, and each consent record names the
versions and repeats the statements' wording as shown.

No sample reaches a contact: the shipped texts (``config/consent/``) have bracketed
placeholders, and :func:`sample_markers` is the one rule that finds them. A text with
them is never stored (:func:`add_text`), and while no complete Widerruf text is set
:func:`current_texts` refuses, so the consent form, a consent and ``grant`` on a
property that asks for consent are refused too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import unicodedata

from gateway.clock import utc_now
from gateway.config import Config
from gateway.db import database
from gateway.errors import InvalidInput
from gateway.models import ConsentRecord, ConsentText, Grant, Property
from gateway.security import cut_user_agent, shorten_ip
from gateway.services import durable_medium
from gateway.services.grant_rule import needs_consent as needs_consent  # the consent form asks it
from gateway.services.tracking import Event, record_event
from gateway.shipped import CONSENT_FOLDER, shipped_bytes

KINDS = ("widerruf", "agb")
TITLES = {"widerruf": "Widerrufsbelehrung", "agb": "AGB"}
MAX_TEXT_CHARS = 200_000

# What marks a text as a sample (config/consent/*.txt): a bracketed placeholder such
# as "[Name der Maklerfirma]" — an opening bracket, a letter, up to 200 characters
# without brackets (a placeholder may wrap onto the next line) and the closing one —
# or the sample's own "MUSTERTEXT" note. Brackets around a number, a symbol or an
# ellipsis ("[1]", "[*]", "[…]", as legal texts cite and shorten) are no placeholder.
# Texts are compared in NFKC form, so full-width brackets count as brackets.
# A bracketed span starting with a letter; ``[text](target)`` is a Markdown link in a
# structured text (docs/interface.md), not a placeholder.
PLACEHOLDER = re.compile(r"\[\s*[^\W\d_][^\[\]]{0,200}\](?!\()")
SAMPLE_NOTE = re.compile(r"\bMUSTERTEXT\b")
SHOWN_MARKERS = 3

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


def sample_markers(body: str) -> list[str]:
    """The sample's marks still in ``body``, in order and each once: unfilled
    placeholders (``[Anschrift]``) and the ``MUSTERTEXT`` note. Empty for a complete
    text. The one rule for "is this a sample": every way a text reaches a contact
    asks it."""
    text = unicodedata.normalize("NFKC", body)
    matches = [*PLACEHOLDER.finditer(text), *SAMPLE_NOTE.finditer(text)]
    found = [" ".join(m.group().split()) for m in sorted(matches, key=lambda m: m.start())]
    return list(dict.fromkeys(found))


def _marker_list(markers) -> str:
    shown = ", ".join(markers[:SHOWN_MARKERS])
    more = len(markers) - SHOWN_MARKERS
    return shown + (f" and {more} more placeholder(s)" if more > 0 else "")


class SampleText(InvalidInput):
    """A text that still has the sample's placeholders; it is never stored."""


def add_text(kind: str, body: str, *, origin: str | None = None) -> ConsentText:
    """Store ``body`` as the next version of ``kind``; it is shown from now on.

    :raises InvalidInput: unknown kind.
    :raises SampleText: ``body`` still has placeholders of the sample.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown text {kind!r}: expected {' or '.join(KINDS)}")
    markers = sample_markers(body)
    if markers:
        raise SampleText(
            f"{origin or 'the ' + TITLES[kind]} still has placeholders of the sample: "
            f"{_marker_list(markers)} — fill them in (have the text checked by your "
            "lawyer) and set it again; nothing was stored"
        )
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


def current_texts() -> ConsentTexts:
    """The texts a contact is shown and accepts now.

    :raises TextsNotReady: no Widerruf text is set, or a current text is a sample.
    """
    problems = text_problems()
    if problems:
        raise TextsNotReady(problems)
    widerruf = _latest(WIDERRUF)
    assert widerruf is not None  # text_problems() names a missing one
    return ConsentTexts(widerruf=widerruf, agb=_latest(AGB))


def current_versions() -> list[ConsentText]:
    """The newest stored version of each kind, sample or not (``consent show``)."""
    return [text for text in (_latest(kind) for kind in KINDS) if text is not None]


def list_texts() -> list[ConsentText]:
    """Every stored version of every text, oldest first within a kind."""
    return list(ConsentText.select().order_by(ConsentText.kind.desc(), ConsentText.version))


@dataclasses.dataclass(frozen=True)
class TextProblem:
    """Why the texts of ``kind`` cannot be shown: none set (``markers`` empty), or
    its newest version still has the sample's ``markers``."""

    kind: str
    markers: tuple[str, ...] = ()

    def __str__(self) -> str:
        title = TITLES[self.kind]
        if not self.markers:
            return f"no {title} is set"
        return f"the current {title} is a sample: it still has {_marker_list(self.markers)}"


def text_problems() -> list[TextProblem]:
    """Why contacts cannot be asked for consent now; empty when they can. A Widerruf
    text must be set; AGB are optional. Reads only."""
    problems = []
    for kind in KINDS:
        latest = _latest(kind)
        if latest is None:
            if kind == WIDERRUF:
                problems.append(TextProblem(kind))
            continue
        markers = sample_markers(latest.body)
        if markers:
            problems.append(TextProblem(kind, tuple(markers)))
    return problems


def _fix(problems: list[TextProblem]) -> str:
    commands = " and ".join(f"`immoshare consent set {p.kind} FILE`" for p in problems)
    return f"set a complete text with {commands}"


class TextsNotReady(InvalidInput):
    """Contacts cannot be asked for consent: a text is missing or a sample."""

    def __init__(self, problems: list[TextProblem]):
        super().__init__(
            "; ".join(str(p) for p in problems)
            + f" — {_fix(problems)} (`immoshare consent show` lists the versions)"
        )
        self.problems = problems


def serve_warning() -> str | None:
    """The line ``serve`` prints while contacts cannot consent; None when they can,
    or when no property asks for consent (a new property does, by default)."""
    problems = text_problems()
    if not problems:
        return None
    if Property.select().exists() and not (
        Property.select().where(Property.requires_consent == True).exists()  # noqa: E712
    ):
        return None
    return (
        "; ".join(str(p) for p in problems)
        + ": contacts of properties that ask for consent see no documents, and `grant` "
        f"refuses them — {_fix(problems)}"
    )


def require_texts_ready() -> None:
    """:raises TextsNotReady: contacts cannot be asked for consent now."""
    current_texts()


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
    texts = current_texts()  # refuses while a text is a sample
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
