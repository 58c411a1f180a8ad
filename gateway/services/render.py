"""Offer templates as the CRM has them: fill the contact's personal link in, leave the rest.

Real offer letters are full of the CRM's merge fields (``{Feld:OObjektnummer}``,
``{Feld:AAnrede}``, ...); the CRM fills those, immoshare fills only
``{Feld:OImmoCloudLink}`` and leaves every other field exactly as it stands, so the
letter can go back into the CRM's merge. ``strict`` refuses any other field instead,
for a letter that goes out directly.

Three kinds of template:

- text, in any encoding an office produces (UTF-8 with or without byte-order mark,
  UTF-16 with one, else Windows-1252, the encoding of older CRM exports), written
  back in the same encoding with its line ends (CRLF stays CRLF);
- HTML (``.html``/``.htm``): the same, with the link HTML-escaped;
- Word (``.docx``, through python-docx): Word splits text into runs wherever
  formatting, spelling marks or editing history change, so a field is often spread
  over several runs; each paragraph's text is matched as a whole and the link put
  into the run where the field starts, with that run's formatting.

Every template is bounded before it is parsed: its size, and for ``.docx`` (a zip)
the number of members, their unpacked size and the packing ratio.
"""

from __future__ import annotations

import codecs
import dataclasses
import html
import io
import re
import zipfile
from pathlib import Path

from gateway.config import Config
from gateway.errors import InvalidInput
from gateway.services import grants

FIELD = re.compile(r"\{Feld:([^{}\r\n]*)\}")
LINK_FIELD = "OImmoCloudLink"
HTML_SUFFIXES = (".html", ".htm")
DOCX_SUFFIX = ".docx"

#: Largest template read at all; offer letters are a few hundred KiB.
MAX_TEMPLATE_BYTES = 20 * 1024 * 1024
#: A .docx unpacked: members, total size, and how much smaller packed it may be.
MAX_DOCX_MEMBERS = 2_000
MAX_DOCX_UNPACKED = 100 * 1024 * 1024
MAX_DOCX_RATIO = 200

_WORD_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


@dataclasses.dataclass(frozen=True)
class Rendered:
    """A filled-in letter: ``data`` as written, and how many link fields were filled."""

    data: bytes
    replaced: int
    kind: str  # "text", "html" or "docx"


def template_kind(template: Path) -> str:
    suffix = template.suffix.lower()
    if suffix == DOCX_SUFFIX:
        return "docx"
    return "html" if suffix in HTML_SUFFIXES else "text"


def read_template(template: Path) -> bytes:
    """The template's bytes. :raises InvalidInput: larger than :data:`MAX_TEMPLATE_BYTES`."""
    with template.open("rb") as handle:
        data = handle.read(MAX_TEMPLATE_BYTES + 1)
    if len(data) > MAX_TEMPLATE_BYTES:
        raise InvalidInput(
            f"{template.name} is larger than {MAX_TEMPLATE_BYTES // (1024 * 1024)} MiB: "
            "not an offer letter"
        )
    return data


def fill_fields(
    text: str, link: str, *, strict: bool, name: str = "the template"
) -> tuple[str, int]:
    """``text`` with every link field replaced by ``link`` (already escaped as needed).

    :raises InvalidInput: ``strict`` and another ``{Feld:...}`` is present.
    """
    if strict:
        for number, line in enumerate(text.splitlines(), start=1):
            for match in FIELD.finditer(line):
                if match.group(1) != LINK_FIELD:
                    raise InvalidInput(
                        f"{name}, line {number}: unknown field {{Feld:{match.group(1)}}} "
                        f"(--strict fills only {{Feld:{LINK_FIELD}}})"
                    )
    replaced = 0

    def substitute(match: re.Match) -> str:
        nonlocal replaced
        if match.group(1) != LINK_FIELD:
            return match.group(0)
        replaced += 1
        return link

    return FIELD.sub(substitute, text), replaced


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Text and the encoding to write it back in."""
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                raise InvalidInput(f"{name} is not valid UTF-16 text") from None
    if b"\x00" in data:
        raise InvalidInput(
            f"{name} is a binary file: text, HTML and Word (.docx) templates can be rendered"
        )
    utf8 = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    for encoding in (utf8, "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"{name} is neither UTF-8, UTF-16 nor Windows-1252 text")


def render_text_bytes(
    data: bytes, link: str, *, is_html: bool, strict: bool, name: str
) -> Rendered:
    text, encoding = _decode(data, name)
    value = html.escape(link, quote=True) if is_html else link
    filled, replaced = fill_fields(text, value, strict=strict, name=name)
    return Rendered(filled.encode(encoding), replaced, "html" if is_html else "text")


def _check_docx_archive(data: bytes, name: str) -> None:
    """Refuse a .docx that is not a zip, or that would unpack to far more than it is."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInput(f"{name} is not a Word document (.docx is a zip archive)") from None
    members = archive.infolist()
    unpacked = sum(member.file_size for member in members)
    if (
        len(members) > MAX_DOCX_MEMBERS
        or unpacked > MAX_DOCX_UNPACKED
        or unpacked > MAX_DOCX_RATIO * max(len(data), 1)
    ):
        raise InvalidInput(f"{name} unpacks to too much data for an offer letter")


def _word_parts(document):
    """The XML trees of the body, headers and footers."""
    yield document.element
    for section in document.sections:
        for part in (
            section.header,
            section.footer,
            section.first_page_header,
            section.first_page_footer,
            section.even_page_header,
            section.even_page_footer,
        ):
            if not part.is_linked_to_previous:
                yield part._element


def _fill_paragraph(paragraph, link: str, strict: bool, name: str) -> int:
    """Fill the link fields of one ``w:p``, whose text may be spread over many ``w:t``."""
    texts = list(paragraph.iter(f"{_WORD_NS}t"))
    joined = "".join(t.text or "" for t in texts)
    if "{Feld:" not in joined:
        return 0
    if strict:
        fill_fields(joined, link, strict=True, name=name)
    matches = [m for m in FIELD.finditer(joined) if m.group(1) == LINK_FIELD]
    # Rewrite from the last match backwards so earlier offsets stay valid.
    for match in reversed(matches):
        start, end = match.span()
        offset = 0
        for element in texts:
            content = element.text or ""
            piece_start, piece_end = offset, offset + len(content)
            offset = piece_end
            if piece_end <= start or piece_start >= end:
                continue
            before = content[: max(start - piece_start, 0)]
            after = content[max(end - piece_start, 0) :] if end < piece_end else ""
            inserted = link if piece_start <= start < piece_end else ""
            element.text = before + inserted + after
            element.set(_XML_SPACE, "preserve")
    return len(matches)


def render_docx_bytes(data: bytes, link: str, *, strict: bool, name: str) -> Rendered:
    import docx  # python-docx: loaded only when a Word letter is rendered

    _check_docx_archive(data, name)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # python-docx raises many kinds for a damaged package
        raise InvalidInput(f"{name} is not a readable Word document") from None
    replaced = 0
    for root in _word_parts(document):
        for paragraph in root.iter(f"{_WORD_NS}p"):
            replaced += _fill_paragraph(paragraph, link, strict, name)
    out = io.BytesIO()
    document.save(out)
    return Rendered(out.getvalue(), replaced, "docx")


def render_bytes(data: bytes, kind: str, link: str, *, strict: bool, name: str) -> Rendered:
    """Fill ``link`` into a template of ``kind`` given as bytes."""
    if kind == "docx":
        return render_docx_bytes(data, link, strict=strict, name=name)
    return render_text_bytes(data, link, is_html=kind == "html", strict=strict, name=name)


def render_template(
    config: Config, template: Path, property_key: str, ref: str, *, strict: bool = False
) -> Rendered:
    """The filled-in template for ``ref``'s grant on ``property_key``.

    :raises NotFound: property, contact or grant unknown.
    :raises AccessDenied: the grant is revoked or expired.
    :raises InvalidInput: unreadable or oversized template; with ``strict``, another field.
    """
    grant = grants.get_live_grant(property_key, ref)
    return render_bytes(
        read_template(template),
        template_kind(template),
        grants.personal_link(config, grant),
        strict=strict,
        name=template.name,
    )


def render_for_all(
    config: Config, template: Path, property_key: str, *, strict: bool = False
) -> list[tuple[str, Rendered]]:
    """``(ref, letter)`` for every contact whose link on ``property_key`` works now.

    The template is read and checked once; with ``strict`` an unknown field fails
    before any letter is made.
    """
    data = read_template(template)
    kind = template_kind(template)
    letters = []
    for row in grants.list_users(property_key):
        if not row.active:
            continue
        grant = grants.get_live_grant(property_key, row.contact)
        link = grants.personal_link(config, grant)
        letters.append(
            (row.contact, render_bytes(data, kind, link, strict=strict, name=template.name))
        )
    return letters


_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def letter_file_names(template: Path, refs: list[str]) -> list[str]:
    """One file name per contact, ``angebot-4711.docx``; a ref's ``/`` and other
    characters a file name cannot hold become ``_``, and names that would collide get
    ``-2``, ``-3``, ... so no letter overwrites another."""
    taken: set[str] = set()
    names = []
    for ref in refs:
        base = f"{template.stem}-{_UNSAFE_IN_FILE_NAME.sub('_', ref)}"
        candidate, number = base + template.suffix, 1
        while candidate.lower() in taken:
            number += 1
            candidate = f"{base}-{number}{template.suffix}"
        taken.add(candidate.lower())
        names.append(candidate)
    return names
