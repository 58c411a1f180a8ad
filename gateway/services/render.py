"""Offer templates: fill a contact's personal link into a text or HTML letter.

The CRM's placeholder ``{Feld:OImmoCloudLink}`` becomes the personal link of the
contact for the property, HTML-escaped in ``.html``/``.htm`` files. Any other
``{Feld:...}`` is refused rather than left in a letter that goes out. Templates are
read as UTF-8 (a byte-order mark is kept), else as Windows-1252, the encoding of
older CRM exports, and written back in the same encoding; a file with NUL bytes,
or one that decodes as neither, is binary (a .docx or .pdf) and refused.
"""

from __future__ import annotations

import codecs
import dataclasses
import html
import re
from pathlib import Path

from gateway.config import Config
from gateway.errors import InvalidInput
from gateway.services import grants

FIELD = re.compile(r"\{Feld:([^{}\r\n]*)\}")
LINK_FIELD = "OImmoCloudLink"
HTML_SUFFIXES = (".html", ".htm")


@dataclasses.dataclass(frozen=True)
class Rendered:
    text: str
    encoding: str
    replaced: int


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if b"\x00" in data:
        raise InvalidInput(
            f"{name} is a binary file: only text and HTML templates can "
            "be rendered (save the letter as .txt or .html)"
        )
    utf8 = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    for encoding in (utf8, "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"{name} is neither UTF-8 nor Windows-1252 text")


def render_text(text: str, link: str, *, is_html: bool, name: str = "the template") -> Rendered:
    """Replace the link field; :raises InvalidInput: an unknown ``{Feld:...}``."""
    for number, line in enumerate(text.splitlines(), start=1):
        for match in FIELD.finditer(line):
            if match.group(1) != LINK_FIELD:
                raise InvalidInput(
                    f"{name}, line {number}: unknown field "
                    f"{{Feld:{match.group(1)}}} — only "
                    f"{{Feld:{LINK_FIELD}}} is filled in"
                )
    value = html.escape(link, quote=True) if is_html else link
    result, replaced = FIELD.subn(lambda m: value, text)
    return Rendered(result, "", replaced)


def render_template(config: Config, template: Path, property_key: str, ref: str) -> Rendered:
    """The filled-in template for ``ref``'s grant on ``property_key``.

    :raises NotFound: property, contact or grant unknown.
    :raises AccessDenied: the grant is revoked or expired.
    :raises InvalidInput: binary template or unknown field.
    """
    grant = grants.get_live_grant(property_key, ref)
    text, encoding = _decode(template.read_bytes(), template.name)
    rendered = render_text(
        text,
        grants.personal_link(config, grant),
        is_html=template.suffix.lower() in HTML_SUFFIXES,
        name=template.name,
    )
    return dataclasses.replace(rendered, encoding=encoding)


def encode(rendered: Rendered) -> bytes:
    """The rendered letter in the template's encoding. A link is ASCII, so a
    Windows-1252 letter stays Windows-1252."""
    return rendered.text.encode(rendered.encoding)
