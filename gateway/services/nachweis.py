"""The Nachweis: one document an agent can hand to a lawyer, per property and contact.

What the contact accepted (each text version in full, with its sha256), whether the
confirmation reached a durable medium (BGH I ZR 169/19), which documents went out
(each version's sha256, bytes, complete or not, channel), the energy certificate,
and whether the tracking chain was intact when the report was made.

The facts are gathered once (:func:`build_facts`, plain JSON-ready data) from the
services that own them: consent records and texts, the access report, the chain
check of ``tracking verify``. Every output is rendered from those facts:
:func:`render_json`, :func:`render_html` and :func:`render_pdf`, German by default.
"""

from __future__ import annotations

import datetime
import json

from gateway.clock import iso, utc_now
from gateway.config import Config
from gateway.errors import NotFound
from gateway.models import AccessEvent, ConsentRecord, Grant
from gateway.services import branding, consent, energy_certificate, reports, tracking
from gateway.services.contacts import get_contact
from gateway.services.nachweis_html import html_page
from gateway.services.nachweis_layout import layout
from gateway.services.nachweis_pdf import pdf_bytes
from gateway.services.properties import get_property

LANGUAGES = ("de", "en")

#: The channel names of the report: WebDAV is spelt out, and a zip member is named
#: as such although its event is a web ``download`` (INTERFACE.md, "Tracking event").
CHANNEL_NAMES = {"web": "web", "dav": "webdav", "zip": "zip"}

#: A zip's settle hook records its members one after the other; a web download
#: further apart than this from the member before it is a download of its own.
ZIP_MEMBER_GAP = datetime.timedelta(seconds=1)


def build_facts(config: Config, property_key: str, contact_ref: str) -> dict:
    """Everything the Nachweis states, as JSON-ready data (times ISO 8601 UTC).

    :raises NotFound: unknown property or contact, or the contact never had a grant
        for the property.
    """
    prop = get_property(property_key)
    contact = get_contact(contact_ref)
    grant = Grant.get_or_none((Grant.property == prop) & (Grant.contact == contact))
    if grant is None:
        raise NotFound(
            f"contact '{contact_ref}' has no grant for property '{property_key}' — "
            "nothing to report"
        )
    tracking.flush()  # a running server's journaled events belong in the report
    chain = tracking.verify_chain()
    head_id, head_hash = tracking.chain_head()
    return {
        "generated_at": iso(utc_now()),
        "agency": {"name": branding.get_branding(config).name},
        "property": {
            "key": prop.key,
            "title": prop.title,
            "requires_consent": bool(prop.requires_consent),
        },
        "contact": {"ref": contact.ref, "name": contact.name, "email": contact.email},
        "grant": {
            "created_at": iso(grant.created_at),
            "active": bool(grant.active),
            "revoked_at": iso(grant.revoked_at),
            "expires": grant.expires.isoformat() if grant.expires else None,
        },
        "consents": [_consent_facts(r) for r in _consent_records(grant)],
        "documents": _documents(prop.key, contact.ref),
        "energy_certificate": energy_certificate_facts(config, prop.key, contact.ref),
        "chain": {
            "head_id": head_id,
            "head_hash": head_hash,
            "verified": chain.ok,
            "checked": chain.checked,
            "broken_event": chain.broken_id,
            "reason": chain.reason,
        },
    }


def energy_certificate_facts(config: Config, property_key: str, contact_ref: str) -> dict | None:
    """The energy certificate's delivery to this contact (§ 80 (4) GEG):
    ``{"path", "sha256", "delivered": bool, "delivered_at": ISO|None}``, or None while
    the property has no certificate marked (``gateway.services.energy_certificate``)."""
    return energy_certificate.certificate_facts(config, property_key, contact_ref)


def _consent_records(grant: Grant) -> list[ConsentRecord]:
    return list(
        ConsentRecord.select().where(ConsentRecord.grant == grant).order_by(ConsentRecord.at)
    )


def _consent_facts(record: ConsentRecord) -> dict:
    texts = []
    for kind, version, sha256 in (
        ("widerruf", record.widerruf_version, record.widerruf_sha256),
        ("agb", record.agb_version, record.agb_sha256),
    ):
        if version is None:
            continue
        text = consent.text_version(kind, version)
        body = text.body if text else None
        texts.append(
            {
                "kind": kind,
                "version": version,
                "sha256": sha256,
                "body": body,
                # The stored text still hashes to what the contact was shown.
                "body_matches": body is not None and consent.text_sha256(body) == sha256,
            }
        )
    return {
        "at": iso(record.at),
        "ip": record.ip,
        "user_agent": record.user_agent,
        "language": record.language,
        "statements": consent.statements_of(record),
        # What was ticked, also for records stored before the wording was kept.
        "early_start": bool(record.early_start),
        "widerruf_acknowledged": bool(record.widerruf_acknowledged),
        "agb_accepted": record.agb_accepted,
        "texts": texts,
        "mail": _mail_facts(record),
    }


def _mail_facts(record: ConsentRecord) -> dict:
    """The confirmation mail; ``durable`` only once a mail was handed to the SMTP server."""
    sent = record.mail_state == "sent" and bool(record.mail_message_id)
    # ConsentRecord keeps no delivery time yet; once the confirmation service stores
    # one as ``mail_sent_at`` it shows here, until then the report says "not recorded".
    sent_at = getattr(record, "mail_sent_at", None)
    return {
        "state": record.mail_state or "none",
        "durable": sent,
        "message_id": record.mail_message_id,
        "sha256": record.mail_sha256,
        "sent_at": iso(sent_at) if isinstance(sent_at, datetime.datetime) else None,
        "attempts": record.mail_attempts,
        "error": None if sent else record.mail_error,
    }


def _documents(property_key: str, contact_ref: str) -> list[dict]:
    """Each version of each document the contact opened or downloaded, first access first."""
    report = reports.access_report(property_key=property_key, contact=contact_ref, by_version=True)
    members = _zip_member_ids(property_key, contact_ref)
    documents = []
    for row in report.contacts:
        channels = {
            CHANNEL_NAMES["zip"] if e["id"] in members else e["channel"] for e in row.events
        }
        documents.append(
            {
                "path": row.path,
                "sha256": row.sha256,
                "size": row.events[-1]["size"],
                "first": iso(row.first),
                "last": iso(row.last),
                "bytes": row.bytes,
                "complete": row.complete,
                "opens": row.opens,
                "downloads": row.downloads,
                "channels": sorted(CHANNEL_NAMES.get(c, c) for c in channels),
            }
        )
    documents.sort(key=lambda d: (d["first"], d["path"]))
    return documents


def _zip_member_ids(property_key: str, contact_ref: str) -> set[int]:
    """Ids of the web downloads that were members of a zip: the zip's settle hook
    records them right after the zip event, one after the other (``webui/share.py``),
    so they are the run of whole-file web downloads inside the zip's folder that
    directly follows a ``zip`` event of the same contact."""
    query = (
        AccessEvent.select(
            AccessEvent.id,
            AccessEvent.action,
            AccessEvent.channel,
            AccessEvent.path,
            AccessEvent.at,
            AccessEvent.range_start,
        )
        .where((AccessEvent.property == property_key) & (AccessEvent.contact == contact_ref))
        .order_by(AccessEvent.id)
    )
    members: set[int] = set()
    folder, previous = None, None
    for event in query:
        if event.action == "zip":
            folder, previous = event.path.strip("/"), None
            continue
        is_member = (
            folder is not None
            and event.channel == "web"
            and event.action == "download"
            and event.range_start is None
            and (not folder or event.path.startswith(folder + "/"))
            and (previous is None or _gap(previous, event.at) <= ZIP_MEMBER_GAP)
        )
        if is_member:
            members.add(event.id)
            previous = event.at
        else:
            folder = None
    return members


def _gap(earlier: datetime.datetime, later: datetime.datetime) -> datetime.timedelta:
    def aware(moment):
        return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)

    return abs(aware(later) - aware(earlier))


# ---------------------------------------------------------------- renderers


def _language(lang: str) -> str:
    return lang if lang in LANGUAGES else "de"


def render_json(config: Config, property_key: str, contact_ref: str) -> str:
    """The facts as JSON, as ``report --json`` prints them. :raises NotFound: see
    :func:`build_facts`."""
    return json_of(build_facts(config, property_key, contact_ref))


def render_html(config: Config, property_key: str, contact_ref: str, lang: str = "de") -> str:
    """The Nachweis as one printable HTML page. :raises NotFound: see :func:`build_facts`."""
    return html_of(build_facts(config, property_key, contact_ref), lang)


def render_pdf(config: Config, property_key: str, contact_ref: str, lang: str = "de") -> bytes:
    """The Nachweis as a PDF (A4, page numbers, real text). :raises NotFound: see
    :func:`build_facts`."""
    return pdf_of(build_facts(config, property_key, contact_ref), lang)


def json_of(facts: dict) -> str:
    """The JSON of facts already gathered."""
    return json.dumps(facts, ensure_ascii=False, indent=2)


def html_of(facts: dict, lang: str = "de") -> str:
    """The printable page of facts already gathered."""
    return html_page(layout(facts, _language(lang)))


def pdf_of(facts: dict, lang: str = "de") -> bytes:
    """The PDF of facts already gathered."""
    return pdf_bytes(layout(facts, _language(lang)))
