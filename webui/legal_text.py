"""The consent texts (Widerrufsbelehrung, AGB) as structured HTML: headings,
paragraphs, lists and plain links, from a safe subset of Markdown.

Rendered with markdown-it-py's CommonMark parser with raw HTML off, so ``<script>``
in a text is shown as text; images are off (nothing loads from elsewhere), and a
link is kept only for ``http``, ``https``, ``mailto`` and ``tel``. The subset:
headings (``#``), paragraphs, lists (``-``, ``1.``), quotes and links. The page's
headings above the text are h1 and h2, so the text's own start at h3.

A single line break is kept as one (an address stays on its lines). Texts written
as plain paragraphs (as the shipped sample and texts pasted from a
word processor are) get their structure too: a paragraph of one short line without
sentence punctuation at its end ("Widerrufsrecht", "Folgen des Widerrufs") is a
heading.
"""

from __future__ import annotations

import functools
import re

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

SAFE_SCHEMES = ("http:", "https:", "mailto:", "tel:")
TOP_LEVEL = 3  # a text's highest heading becomes <h3>
MAX_HEADING_CHARS = 70
_SENTENCE_END = re.compile(r"[.,;:!?)\]_*]$")
_LOOKS_LIKE_FIELD = re.compile(r"_{3,}|:\s")


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(SAFE_SCHEMES)


@functools.cache
def _parser() -> MarkdownIt:
    parser = MarkdownIt(
        "commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True}
    )
    # Off: raw HTML, images, and what would change a legal text's wording as written:
    # "*" and "_" for emphasis (the model form's "(*)", "____" blanks), code spans
    # and indented code blocks.
    parser.disable(["image", "html_block", "html_inline", "emphasis", "backticks", "code", "fence"])
    parser.validateLink = _safe_link
    return parser


def _is_plain_heading(inline: Token) -> bool:
    text = inline.content.strip()
    return (
        0 < len(text) <= MAX_HEADING_CHARS
        and "\n" not in text
        and not _SENTENCE_END.search(text)
        and not _LOOKS_LIKE_FIELD.search(text)
        and text[0].isalnum()
    )


def _structure(tokens: list[Token]) -> list[Token]:
    """Shift the text's headings below the page's own, its highest to h3, and turn
    lone short lines into headings one below that (h3 in a text without any), so
    that no level is skipped."""
    written = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    shift = TOP_LEVEL - min(written) if written else 0
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + shift, 6)}"
    plain = f"h{TOP_LEVEL + 1 if written else TOP_LEVEL}"
    for index, token in enumerate(tokens):
        if (
            token.type == "paragraph_open"
            and token.level == 0
            and _is_plain_heading(tokens[index + 1])
        ):
            token.type, token.tag = "heading_open", plain
            closing = tokens[index + 2]
            closing.type, closing.tag = "heading_close", plain
    return tokens


def render_legal_text(body: str) -> Markup:
    """``body`` as HTML that is safe to put into the page as it is."""
    parser = _parser()
    tokens = _structure(parser.parse(body))
    html = parser.renderer.render(tokens, parser.options, {})
    return Markup(html)  # noqa: S704 - raw HTML is off, links are checked above
