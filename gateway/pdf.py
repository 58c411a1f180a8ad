"""Printable documents as PDF: the one place that knows the page layout.

Every PDF immoshare hands out (the Nachweis, the consent texts attached to the
confirmation mail and offered for download) is built here, with fpdf2, a maintained
pure-Python PDF writer. The text is real text, never an image, so ``pdftotext``
gives back every fact; the fonts are DejaVu (shipped in ``gateway/shipped/fonts/``,
free licence beside them) because the core PDF fonts cannot write every name a
contact may have. A4 portrait, a running title and "Seite n von m" on each page.
"""

from __future__ import annotations

from contextlib import ExitStack
from importlib import resources

from fpdf import FPDF
from fpdf.enums import XPos, YPos

_FONTS = {
    ("Sans", ""): "DejaVuSans.ttf",
    ("Sans", "B"): "DejaVuSans-Bold.ttf",
    ("Mono", ""): "DejaVuSansMono.ttf",
}

_PAGE_LABEL = {"de": "Seite {page} von {pages}", "en": "Page {page} of {pages}"}

# Text sizes in points; line heights in millimetres.
BODY_SIZE, SMALL_SIZE, HEADING_SIZE, TITLE_SIZE = 10, 8, 12, 16
LINE = 5


class PdfDocument:
    """A document written top to bottom: a title, headings, paragraphs, label/value rows.

    >>> doc = PdfDocument("Nachweis", lang="de")
    >>> doc.heading("Kontakt"); doc.rows([("Name", "Erika Muster")])
    >>> data = doc.to_bytes()
    """

    def __init__(self, title: str, *, lang: str = "de", subject: str = "") -> None:
        self._fonts = ExitStack()
        self._pdf = _Pages(title, _PAGE_LABEL.get(lang, _PAGE_LABEL["de"]))
        self._pdf.set_title(title)
        self._pdf.set_lang(lang)
        if subject:
            self._pdf.set_subject(subject)
        self._pdf.set_creator("immoshare")
        self._pdf.set_auto_page_break(auto=True, margin=18)
        self._pdf.set_margins(20, 18, 20)
        fonts = resources.files("gateway.shipped").joinpath("fonts")
        for (family, style), name in _FONTS.items():
            path = self._fonts.enter_context(resources.as_file(fonts.joinpath(name)))
            self._pdf.add_font(family, style, str(path))
        self._pdf.alias_nb_pages()
        self._pdf.add_page()
        self._pdf.set_font("Sans", "B", TITLE_SIZE)
        self._write(title, TITLE_SIZE * 0.5)
        self._pdf.ln(2)

    def heading(self, text: str) -> None:
        """A section heading, kept on the page of the text that follows it."""
        if self._pdf.get_y() > self._pdf.h - 45:
            self._pdf.add_page()
        self._pdf.ln(3)
        self._pdf.set_font("Sans", "B", HEADING_SIZE)
        self._write(text, LINE + 1)
        self._pdf.ln(1)

    def subheading(self, text: str) -> None:
        """A heading inside a section (one text version, one document), bold at body size."""
        if self._pdf.get_y() > self._pdf.h - 35:
            self._pdf.add_page()
        self._pdf.ln(1)
        self._pdf.set_font("Sans", "B", BODY_SIZE)
        self._write(text, LINE)
        self._pdf.ln(0.5)

    def paragraph(
        self, text: str, *, small: bool = False, mono: bool = False, strong: bool = False
    ) -> None:
        """Running text; line breaks in ``text`` are kept. ``strong`` sets it in bold,
        for a statement the reader must not miss."""
        family = "Mono" if mono else "Sans"
        self._pdf.set_font(
            family, "B" if strong and not mono else "", SMALL_SIZE if small else BODY_SIZE
        )
        self._write(text, LINE - (1 if small else 0))
        self._pdf.ln(1.5)

    def rows(self, pairs: list[tuple[str, str]], *, label_width: float = 48) -> None:
        """Label/value lines, e.g. ("SHA-256", "ab12…"), set flush left. Long values wrap
        in their column; identifiers (a long value without blanks: a hexadecimal digest,
        a Message-ID) are set in the small monospaced font, so they stay on one line
        where they fit and read without ambiguity."""
        for label, value in pairs:
            y = self._pdf.get_y()
            if y > self._pdf.h - 30:
                self._pdf.add_page()
                y = self._pdf.get_y()
            self._pdf.set_font("Sans", "B", SMALL_SIZE + 1)
            self._pdf.multi_cell(
                label_width, LINE - 0.5, label, align="L", new_x=XPos.RIGHT, new_y=YPos.TOP
            )
            # A SHA-256 in hexadecimal (64 digits) fits one line at the small size.
            if len(value) >= 32 and not any(c.isspace() for c in value):
                self._pdf.set_font("Mono", "", SMALL_SIZE)
            else:
                self._pdf.set_font("Sans", "", SMALL_SIZE + 1)
            self._pdf.multi_cell(
                0, LINE - 0.5, value or "–", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            self._pdf.set_y(max(self._pdf.get_y(), y + LINE - 0.5))
        self._pdf.ln(1)

    def to_bytes(self) -> bytes:
        """The finished PDF."""
        try:
            return bytes(self._pdf.output())
        finally:
            self._fonts.close()

    def _write(self, text: str, height: float) -> None:
        # Flush left: justified lines of a narrow bold statement gape.
        self._pdf.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


class _Pages(FPDF):
    """FPDF with a footer: the document title and the page number of the total."""

    def __init__(self, title: str, page_label: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._title = title
        self._page_label = page_label

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Sans", "", SMALL_SIZE)
        self.set_text_color(90)
        label = self._page_label.format(page=self.page_no(), pages="{nb}")
        self.cell(0, 5, self._title, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, label, align="R")
        self.set_text_color(0)
