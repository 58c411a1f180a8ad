"""The consent texts as a PDF: attached to the confirmation mail, and the same file
a contact may save from the consent page.

A function of the text versions and the language only, so that the attachment and a
later download of the same versions are the same document; each text carries its
version and sha256, which tie it to the consent record.
"""

from __future__ import annotations

from gateway.models import ConsentText
from gateway.pdf import PdfDocument

FILENAME = {"de": "Widerrufsbelehrung.pdf", "en": "Cancellation-policy.pdf"}

_WORDS = {
    "de": {
        "title": "Widerrufsbelehrung und Muster-Widerrufsformular",
        "widerruf": "Widerrufsbelehrung und Muster-Widerrufsformular",
        "agb": "Allgemeine Geschäftsbedingungen",
        "by": "Anbieter",
        "version": "Fassung",
        "note": "Die Texte sind in deutscher Sprache verbindlich.",
    },
    "en": {
        "title": "Cancellation policy and model withdrawal form",
        "widerruf": "Widerrufsbelehrung (cancellation policy) and model withdrawal form",
        "agb": "Allgemeine Geschäftsbedingungen (general terms and conditions)",
        "by": "Provider",
        "version": "Version",
        "note": "The texts are binding in German, as shown below.",
    },
}


def filename(lang: str) -> str:
    """The attachment's file name in ``lang``."""
    return FILENAME.get(lang, FILENAME["de"])


def consent_texts_pdf(
    widerruf: ConsentText,
    agb: ConsentText | None = None,
    *,
    lang: str = "de",
    agency: str | None = None,
) -> bytes:
    """The texts ``widerruf`` (and ``agb`` where set) in full, each with its version
    and sha256, as an A4 PDF headed in ``lang`` (``de`` or ``en``)."""
    words = _WORDS.get(lang, _WORDS["de"])
    doc = PdfDocument(words["title"], lang=lang if lang in _WORDS else "de")
    if agency:
        doc.rows([(words["by"], agency)])
    if lang != "de":
        doc.paragraph(words["note"], small=True)
    for kind, text in (("widerruf", widerruf), ("agb", agb)):
        if text is None:
            continue
        doc.heading(words[kind])
        doc.rows([(words["version"], str(text.version)), ("SHA-256", text.sha256)])
        for paragraph in _paragraphs(text.body):
            doc.paragraph(paragraph)
    return doc.to_bytes()


def _paragraphs(body: str) -> list[str]:
    return [p for p in (part.strip() for part in body.split("\n\n")) if p]
