"""XML bodies of WebDAV requests that several test modules send."""

from __future__ import annotations


def lock_body(owner: str | None = None) -> bytes:
    """An exclusive write LOCK request; ``owner`` is put in ``<D:owner>`` as XML as it
    is (escape it yourself, or give ``<D:href>…</D:href>`` as Windows and macOS do)."""
    owner_element = "" if owner is None else f"<D:owner>{owner}</D:owner>"
    return (
        '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
        "<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
        f"{owner_element}</D:lockinfo>"
    ).encode()
