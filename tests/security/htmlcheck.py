"""What in an HTML page would run script in a browser; the CSP forbids it, so a page
that contains any is broken or injected."""

from __future__ import annotations

from html.parser import HTMLParser


class _ActiveContent(HTMLParser):
    """Collects what would run script in a browser: inline ``<script>``, ``on*=``
    handler attributes, ``javascript:`` URLs, and frames."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag == "script" and not dict(attrs).get("src"):
            self.found.append("inline <script>")
        if tag in ("iframe", "frame", "object", "embed"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}=")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"{tag} {name}=javascript:")


def active_content(html: str) -> list[str]:
    parser = _ActiveContent()
    parser.feed(html)
    return parser.found
