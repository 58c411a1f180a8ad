"""The CRM export: pages of events after a cursor, as NDJSON or CSV.

A cursor is the id of the last event a consumer has seen, as a decimal string
("0", or nothing, for the beginning). Ids are handed out in commit order (see
``services/tracking``), so "the events after this cursor, in id order" never skips
one and never repeats one, and asking again with the same cursor gives the same
events. A cursor beyond the newest event was never handed out: it is refused, as
is anything that is not a cursor.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Iterable, Iterator

from gateway.errors import InvalidInput
from gateway.numbers import parse_whole_number, whole_number_or_none
from gateway.services.tracking import PUBLIC_FIELDS, chain_head, public_events_after

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_CURSOR = re.compile(r"[0-9]{1,18}")


class InvalidCursor(InvalidInput):
    """A ``since`` value that is not a cursor this gateway handed out."""


@dataclasses.dataclass(frozen=True)
class Page:
    events: list[dict]
    next: str
    since: int = 0  # the cursor asked for


def parse_cursor(text: str | None) -> int:
    """:raises InvalidCursor: not a cursor, or ahead of the newest event."""
    if text is None or text == "":
        return 0
    cursor = whole_number_or_none(text) if _CURSOR.fullmatch(text) else None
    if cursor is None:
        # the value is not repeated: it may be anything a caller sent
        raise InvalidCursor(
            "since is not a cursor — pass the cursor the last export "
            "printed, or none to start at the beginning"
        )
    newest = chain_head()[0]
    if cursor > newest:
        raise InvalidCursor(
            f"cursor {cursor} is ahead of the newest event ({newest}) — was the database replaced?"
        )
    return cursor


def parse_limit(text: str | None) -> int:
    """:raises InvalidInput: not a number from 1 to ``MAX_LIMIT``."""
    if text is None or text == "":
        return DEFAULT_LIMIT
    try:
        return parse_whole_number(text, minimum=1, maximum=MAX_LIMIT)
    except InvalidInput:
        raise InvalidInput(f"limit must be a number from 1 to {MAX_LIMIT}") from None


def page_after(since: str | None, limit: int = DEFAULT_LIMIT) -> Page:
    """Up to ``limit`` events after the cursor ``since``, and the cursor to ask next.

    :raises InvalidCursor: see ``parse_cursor``.
    """
    cursor = parse_cursor(since)
    events = public_events_after(cursor, limit)
    return Page(events, str(events[-1]["id"]) if events else str(cursor), cursor)


def pages_after(since: str | None, page_size: int = MAX_LIMIT) -> Iterator[Page]:
    """Every event after ``since``, page by page; the last page may be empty."""
    page = page_after(since, page_size)
    yield page
    while len(page.events) == page_size:
        page = page_after(page.next, page_size)
        yield page


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def ndjson_lines(events: Iterable[dict]) -> Iterator[str]:
    for event in events:
        yield _encode(event) + "\n"


#: What makes a spreadsheet read a cell as a formula: these first characters (also in
#: their full-width forms, which some locales of Excel accept), tab and CR, also
#: after leading blanks (OWASP "CSV Injection").
_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_LEADING_BLANKS = " \t\r\n\x0b\x0c\u00a0\u3000"


def spreadsheet_safe(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs: one that could start a formula
    (``=HYPERLINK(...)`` in a user agent, ``-1+1`` as a property key) gets a leading
    ``'``, which spreadsheets show as text and do not display; others stay as they are."""
    if text[:1] in ("\t", "\r") or text.lstrip(_LEADING_BLANKS)[:1] in _FORMULA_START:
        return "'" + text
    return text


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return str(value)


def csv_text(rows: Iterable[dict], *, header: bool, fields: tuple[str, ...] = PUBLIC_FIELDS) -> str:
    """Rows as CSV in ``fields`` order (events by default); null is empty,
    booleans are true/false, text that could start a formula is made safe
    (``spreadsheet_safe``). Every CSV the product writes goes through here."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(fields)
    for row in rows:
        writer.writerow([_csv_value(row[name]) for name in fields])
    return out.getvalue()
