"""The numbers in request headers, bounded before anything reads them.

WsgiDAV, werkzeug and our lean paths parse ``Content-Length``, ``Range``,
``Timeout``, ``X-OC-Mtime`` and the date headers with ``int()`` and ``strptime``;
a number of 5,000 digits, a year of 99999 or a superscript digit made each of them
raise, and the answer was a 500. :func:`refuse_or_clean` runs once for every
request, in ``gateway.serving.edge``, before any of them:

- a number header that is malformed or beyond :data:`gateway.numbers.MAX_DIGITS`
  digits (``Content-Length``, ``X-OC-Mtime``, the positions of ``Range``, the
  seconds of ``Timeout``), or a ``Range`` of more than :data:`MAX_RANGES` ranges:
  the request is refused with 400, naming the header, never its value;
- a date header that is not a valid HTTP-date is ignored, as RFC 9110 §13.1.3 and
  §13.1.4 require (``If-Modified-Since``, ``If-Unmodified-Since``); an ``If-Range``
  date that is not one drops the ``Range`` too, so the whole file goes out
  (RFC 9110 §13.1.5: a validator that does not match).
"""

from __future__ import annotations

import re

from gateway.numbers import MAX_DIGITS, whole_number_or_none

#: More ranges than this in one ``Range`` header are refused: WsgiDAV merges them
#: pairwise (quadratic), and no client needs more for one file.
MAX_RANGES = 16
#: ``X-OC-Mtime`` (rclone, ownCloud) is seconds since 1970: up to the year 9999.
MAX_MTIME = 253402300799

_RANGE = re.compile(r"\s*bytes\s*=(.*)", re.IGNORECASE | re.DOTALL)
_DIGIT_RUN = re.compile(r"[0-9]+")
#: Digits of an HTTP-date come in runs of at most four (the year; "+0100").
_DATE_DIGITS = 4


def _digit_runs_fit(value: str, longest: int = MAX_DIGITS) -> bool:
    return all(len(run) <= longest for run in _DIGIT_RUN.findall(value))


def _content_length_ok(value: str) -> bool:
    return value.strip() == "" or whole_number_or_none(value.strip()) is not None


def _range_ok(value: str) -> bool:
    match = _RANGE.fullmatch(value)
    if match is None:
        return True  # another unit: ignored by everyone (RFC 9110 §14.2)
    specs = match.group(1).split(",")
    return len(specs) <= MAX_RANGES and _digit_runs_fit(match.group(1))


def _mtime_ok(value: str) -> bool:
    number = whole_number_or_none(value.strip())
    return number is not None and number <= MAX_MTIME


#: environ key → (header name for the message, check of its value)
NUMBER_HEADERS = {
    "CONTENT_LENGTH": ("Content-Length", _content_length_ok),
    "HTTP_RANGE": ("Range", _range_ok),
    "HTTP_TIMEOUT": ("Timeout", _digit_runs_fit),
    "HTTP_X_OC_MTIME": ("X-OC-Mtime", _mtime_ok),
}
DATE_HEADERS = ("HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE")


def _is_entity_tag(value: str) -> bool:
    value = value.strip()
    return value.startswith('"') or value.startswith("W/")


def refuse_or_clean(environ: dict) -> str | None:
    """The name of the first number header to refuse (answer 400), else None; drops
    date headers that are no HTTP-date (see the module docstring)."""
    for key, (name, ok) in NUMBER_HEADERS.items():
        value = environ.get(key)
        if value is not None and not ok(value):
            return name
    for key in DATE_HEADERS:
        value = environ.get(key)
        if value is not None and not _digit_runs_fit(value, _DATE_DIGITS):
            del environ[key]
    if_range = environ.get("HTTP_IF_RANGE")
    if (
        if_range is not None
        and not _is_entity_tag(if_range)
        and not _digit_runs_fit(if_range, _DATE_DIGITS)
    ):
        del environ["HTTP_IF_RANGE"]
        environ.pop("HTTP_RANGE", None)
    return None
