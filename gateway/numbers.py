"""Whole numbers that come from outside (headers, query strings, form fields, cursors).

Python's ``int()`` is the wrong parser for them: it accepts ``+5``, `` 5 ``, ``5_000``
and digits of other scripts (``٥``), ``str.isdigit()`` says yes to ``²`` which
``int()`` then refuses, and beyond 4,300 digits it raises an error of its own: each
of those was a 500 somewhere. A number from a request is ASCII digits, at most
:data:`MAX_DIGITS` of them (leading zeros included), and every caller names its
own bounds.
"""

from __future__ import annotations

import re

from gateway.errors import InvalidInput

#: 2**63 has 19 digits: every byte offset, length and count fits below it.
MAX_DIGITS = 19
#: The largest value any caller may ask for (file offsets, lengths, seconds).
MAX_VALUE = 10**MAX_DIGITS - 1

_WHOLE = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def parse_whole_number(text: str | None, *, minimum: int = 0, maximum: int = MAX_VALUE) -> int:
    """``text`` as a whole number from ``minimum`` to ``maximum``.

    :raises InvalidInput: anything else (the message names the bounds, never the text).
    """
    number = whole_number_or_none(text)
    if number is None or not minimum <= number <= maximum:
        raise InvalidInput(f"expected a whole number from {minimum} to {maximum}")
    return number


def whole_number_or_none(text: str | None) -> int | None:
    """``text`` as a whole number of at most :data:`MAX_DIGITS` digits, else None."""
    if text is None:
        return None
    match = _WHOLE.fullmatch(text)
    return int(text) if match else None
