"""The Nachweis as a PDF, laid out by ``gateway.pdf`` (A4, page numbers, real text)."""

from __future__ import annotations

from gateway.pdf import PdfDocument
from gateway.services.nachweis_layout import (
    LEGAL_TEXT,
    NOTICE,
    PARAGRAPH,
    ROWS,
    SUBHEADING,
    Layout,
)

#: Millimetres for the labels: "Gesendete Bytes", "Erster Zugriff" on one line, and still
#: room for a 64-digit digest beside it.
LABEL_WIDTH = 56


def pdf_bytes(document: Layout) -> bytes:
    """Write every section of ``document``, in order, into one PDF."""
    pdf = PdfDocument(document.title, lang=document.lang, subject="immoshare")
    for section in document.sections:
        pdf.heading(section.heading)
        for block in section.blocks:
            if block.kind == ROWS:
                pdf.rows(block.content, label_width=LABEL_WIDTH)
            elif block.kind == SUBHEADING:
                pdf.subheading(block.content)
            elif block.kind == LEGAL_TEXT:
                pdf.paragraph(block.content, small=True)
            elif block.kind in (PARAGRAPH, NOTICE):
                pdf.paragraph(block.content, strong=block.kind == NOTICE)
    return pdf.to_bytes()
