"""The Nachweis as one printable HTML page: every value escaped, print styles inline
(the page is a file handed on, so it carries everything it needs)."""

from __future__ import annotations

from html import escape

from gateway.services.nachweis_layout import (
    LEGAL_TEXT,
    NOTICE,
    PARAGRAPH,
    ROWS,
    SUBHEADING,
    Block,
    Layout,
)

_STYLE = """
body { font: 11pt/1.45 "DejaVu Sans", Arial, sans-serif; color: #111; max-width: 46rem;
       margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: 1rem; }
h2 { font-size: 1.15rem; margin-top: 1.8rem; border-bottom: 1px solid #999; }
h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 .8rem; }
th { text-align: left; vertical-align: top; width: 15rem; padding: .15rem .8rem .15rem 0; }
td { padding: .15rem 0; overflow-wrap: anywhere; }
td.digest { font-family: "DejaVu Sans Mono", monospace; font-size: .85em; }
p.notice { font-weight: bold; border-left: 4px solid #b00; padding-left: .6rem; }
pre.legal { white-space: pre-wrap; font: 9pt/1.4 "DejaVu Sans", Arial, sans-serif;
            border: 1px solid #ccc; padding: .6rem; }
@page { size: A4; margin: 18mm 20mm; }
@media print {
  body { margin: 0; max-width: none; }
  h2, h3 { break-after: avoid; }
  table { break-inside: avoid; }
}
"""


def html_page(document: Layout) -> str:
    """The complete page: ``<!doctype html>`` to ``</html>``."""
    parts = [
        "<!doctype html>",
        f'<html lang="{escape(document.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="generator" content="immoshare">',
        f"<title>{escape(document.title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(document.title)}</h1>",
    ]
    for section in document.sections:
        parts.append("<section>")
        parts.append(f"<h2>{escape(section.heading)}</h2>")
        parts.extend(_block(block) for block in section.blocks)
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _block(block: Block) -> str:
    if block.kind == ROWS:
        return "<table>\n{}\n</table>".format("\n".join(_row(k, v) for k, v in block.content))
    if block.kind == SUBHEADING:
        return f"<h3>{escape(block.content)}</h3>"
    if block.kind == LEGAL_TEXT:
        return f'<pre class="legal">{escape(block.content)}</pre>'
    css = ' class="notice"' if block.kind == NOTICE else ""
    assert block.kind in (PARAGRAPH, NOTICE), block.kind
    return f"<p{css}>{escape(block.content)}</p>"


def _row(label: str, value: str) -> str:
    digest = len(value) >= 32 and all(c in "0123456789abcdef" for c in value)
    css = ' class="digest"' if digest else ""
    return f"<tr><th>{escape(label)}</th><td{css}>{escape(value)}</td></tr>"
