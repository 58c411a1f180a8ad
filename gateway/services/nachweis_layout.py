"""The Nachweis as a sequence of sections, worded in German or English.

Both renderers (``nachweis_pdf``, ``nachweis_html``) walk the same :class:`Layout`,
so the PDF and the printable page state the same facts in the same order. Values
stay exact: digests in full, bytes as counted, times in UTC to the second.
"""

from __future__ import annotations

import dataclasses
import datetime

from gateway.services.nachweis_text import TEXT

ROWS, PARAGRAPH, NOTICE, LEGAL_TEXT, SUBHEADING = "rows", "paragraph", "notice", "text", "sub"

#: Mail states of a consent record that have their own words (``models.ConsentRecord``);
#: another state is shown as stored.
MAIL_STATES = ("pending", "retrying", "sent", "failed")


@dataclasses.dataclass(frozen=True)
class Block:
    """``rows`` holds (label, value) pairs; every other kind holds one text."""

    kind: str
    content: str | list[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class Section:
    heading: str
    blocks: list[Block]


@dataclasses.dataclass(frozen=True)
class Layout:
    lang: str
    title: str
    sections: list[Section]


def layout(facts: dict, lang: str) -> Layout:
    """The worded document of ``facts`` (``nachweis.build_facts``) in ``lang``."""
    t = _Words(lang)
    return Layout(
        lang=lang,
        title=t("title", title=facts["property"]["title"]),
        sections=[
            _overview(t, facts),
            _contact(t, facts),
            _consent(t, facts),
            _confirmation(t, facts),
            _documents(t, facts),
            _energy_certificate(t, facts),
            _chain(t, facts),
        ],
    )


class _Words:
    """Words of one language, and exact values written the way that language reads them."""

    def __init__(self, lang: str):
        self.lang = lang
        self.words = TEXT[lang]

    def __call__(self, key: str, **values) -> str:
        return self.words[key].format(**values) if values else self.words[key]

    def time(self, text: str | None) -> str:
        if not text:
            return "–"
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        moment = moment.astimezone(datetime.UTC)
        pattern = "%d.%m.%Y, %H:%M:%S UTC" if self.lang == "de" else "%Y-%m-%d %H:%M:%S UTC"
        return moment.strftime(pattern)

    def number(self, value: int | None) -> str:
        if value is None:
            return "–"
        grouped = f"{value:,}"
        return grouped.replace(",", ".") if self.lang == "de" else grouped

    def bytes(self, value: int | None) -> str:
        return "–" if value is None else self("bytes", n=self.number(value))

    def yes_no(self, value: bool) -> str:
        return self("yes") if value else self("no")


def _overview(t: _Words, facts: dict) -> Section:
    prop = facts["property"]
    return Section(
        t("overview"),
        [
            Block(
                ROWS,
                [
                    (t("agency"), facts["agency"]["name"] or "–"),
                    (t("property"), f"{prop['title']} ({prop['key']})"),
                    (t("generated_at"), t.time(facts["generated_at"])),
                ],
            ),
            Block(PARAGRAPH, t("intro", name=facts["contact"]["name"], title=prop["title"])),
        ],
    )


def _contact(t: _Words, facts: dict) -> Section:
    contact, grant = facts["contact"], facts["grant"]
    if grant["revoked_at"] or not grant["active"]:
        access = t("access_revoked", at=t.time(grant["revoked_at"]))
    elif grant["expires"]:
        access = t("access_until", day=grant["expires"])
    else:
        access = t("access_active")
    return Section(
        t("contact"),
        [
            Block(
                ROWS,
                [
                    (t("ref"), contact["ref"]),
                    (t("name"), contact["name"]),
                    (t("email"), contact["email"] or t("no_email")),
                    (t("granted_at"), t.time(grant["created_at"])),
                    (t("access"), access),
                ],
            )
        ],
    )


def _consent(t: _Words, facts: dict) -> Section:
    consents = facts["consents"]
    if not consents:
        key = "consent_none" if facts["property"]["requires_consent"] else "consent_not_required"
        return Section(t("consent"), [Block(NOTICE, t(key))])
    blocks: list[Block] = []
    for record in consents:
        blocks.append(
            Block(
                ROWS,
                [
                    (t("consent_at"), t.time(record["at"])),
                    (t("ip"), record["ip"] or "–"),
                    (t("browser"), record["user_agent"] or "–"),
                    (t("language"), record["language"] or "–"),
                ],
            )
        )
        blocks.append(Block(SUBHEADING, t("statements")))
        blocks.extend(Block(PARAGRAPH, f"[x] {s['text']}") for s in record["statements"])
        if not record["statements"]:
            blocks.append(Block(NOTICE, t("statements_unworded")))
            ticked = [
                (t("early_start"), t.yes_no(record["early_start"])),
                (t("widerruf_acknowledged"), t.yes_no(record["widerruf_acknowledged"])),
            ]
            if record["agb_accepted"] is not None:
                ticked.append((t("agb_accepted"), t.yes_no(record["agb_accepted"])))
            blocks.append(Block(ROWS, ticked))
        for text in record["texts"]:
            blocks.append(Block(SUBHEADING, t(f"text_{text['kind']}", version=text["version"])))
            blocks.append(
                Block(
                    ROWS,
                    [
                        (t("sha256"), text["sha256"]),
                        (t("body_matches"), t.yes_no(text["body_matches"])),
                    ],
                )
            )
            blocks.append(Block(LEGAL_TEXT, text["body"] or t("text_missing")))
    return Section(t("consent"), blocks)


def _confirmation(t: _Words, facts: dict) -> Section:
    blocks: list[Block] = []
    for record in facts["consents"]:
        mail = record["mail"]
        if mail["state"] == "none":
            blocks.append(Block(NOTICE, t("mail_none")))
            continue
        state = t(f"mail_{mail['state']}") if mail["state"] in MAIL_STATES else mail["state"]
        sent_at = t.time(mail["sent_at"]) if mail["sent_at"] else t("not_recorded")
        blocks.append(
            Block(
                ROWS,
                [
                    (t("mail_state"), state),
                    (t("message_id"), mail["message_id"] or "–"),
                    (t("mail_sha256"), mail["sha256"] or "–"),
                    (t("mail_sent_at"), sent_at),
                    (t("mail_attempts"), t.number(mail["attempts"])),
                ],
            )
        )
        if not mail["durable"]:
            blocks.append(Block(NOTICE, t("mail_not_durable", error=mail["error"] or "–")))
    if not blocks:
        blocks.append(Block(NOTICE, t("mail_no_consent")))
    return Section(t("confirmation"), blocks)


def _documents(t: _Words, facts: dict) -> Section:
    documents = facts["documents"]
    if not documents:
        return Section(t("documents"), [Block(NOTICE, t("documents_none"))])
    blocks = [Block(PARAGRAPH, t("documents_intro", n=t.number(len(documents))))]
    for document in documents:
        blocks.append(Block(SUBHEADING, document["path"]))
        blocks.append(
            Block(
                ROWS,
                [
                    (t("sha256"), document["sha256"] or "–"),
                    (t("size"), t.bytes(document["size"])),
                    (t("first"), t.time(document["first"])),
                    (t("last"), t.time(document["last"])),
                    (t("bytes_sent"), t.bytes(document["bytes"])),
                    (t("complete"), t.yes_no(document["complete"])),
                    (t("channel"), ", ".join(t(f"channel_{c}") for c in document["channels"])),
                ],
            )
        )
    return Section(t("documents"), blocks)


def _energy_certificate(t: _Words, facts: dict) -> Section:
    certificate = facts["energy_certificate"]
    if certificate is None:
        return Section(t("energy"), [Block(NOTICE, t("energy_not_marked"))])
    delivered = certificate.get("delivered_at")
    return Section(
        t("energy"),
        [
            Block(
                ROWS,
                [
                    (t("document"), certificate.get("path") or "–"),
                    (t("sha256"), certificate.get("sha256") or "–"),
                    (t("energy_delivered"), t.yes_no(bool(certificate.get("delivered")))),
                    (t("energy_delivered_at"), t.time(delivered) if delivered else "–"),
                ],
            )
        ],
    )


def _chain(t: _Words, facts: dict) -> Section:
    chain = facts["chain"]
    if chain["verified"]:
        result = t("chain_ok", n=t.number(chain["checked"]))
    else:
        result = t("chain_broken", id=chain["broken_event"], reason=chain["reason"])
    return Section(
        t("chain"),
        [
            Block(
                ROWS,
                [
                    (t("chain_head_id"), str(chain["head_id"])),
                    (t("chain_head"), chain["head_hash"]),
                    (t("chain_result"), result),
                ],
            ),
            Block(PARAGRAPH, t("chain_note")),
        ],
    )
