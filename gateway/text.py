"""One-line text fields (titles, names, e-mail addresses): the rule every adapter
shares, so that the CLI, the API and the dashboard accept exactly the same values.

A field is one line of printable text: no control characters (a NUL is refused by
PostgreSQL and breaks mail headers, a newline forges one), no lone surrogates (they
cannot be stored as UTF-8), and at most the column's length.
"""

from __future__ import annotations

import unicodedata

from gateway.errors import InvalidInput

#: Unicode categories that never belong in a one-line field: controls, surrogates,
#: unassigned code points, line and paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cs", "Cn", "Zl", "Zp"}


def one_line(value: str, what: str, max_length: int) -> str:
    """``value`` stripped, when it is 1 to ``max_length`` printable characters on one line.

    :raises InvalidInput: empty, too long, or holding a control character; the message
        names ``what`` and never echoes the value.
    """
    text = value.strip()
    if not text:
        raise InvalidInput(f"the {what} is empty")
    if len(text) > max_length:
        raise InvalidInput(f"the {what} is longer than {max_length} characters")
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in text):
        raise InvalidInput(f"the {what} contains a control character or is not valid text")
    return text
