"""What the bench needs from a contact page, found by the ``data-testid`` hooks of
INTERFACE.md (never by wording or layout): download and open links per entry, the
zip link, and how the search is sent."""

from __future__ import annotations

import dataclasses
import html.parser


@dataclasses.dataclass
class PageLinks:
    downloads: dict[str, str] = dataclasses.field(default_factory=dict)  # name → href
    entries: int = 0
    zip: str | None = None
    search_form: tuple[str, str] | None = None  # (action, input name) of a GET form


class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = PageLinks()
        self._entry: list[tuple[str, int]] = []  # (data-name, depth) of open entries
        self._depth = 0
        self._form: tuple[str, str] | None = None  # (action, method) of the open form

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        testid = a.get("data-testid")
        if tag == "form":
            self._form = (a.get("action") or "", (a.get("method") or "get").lower())
        if testid == "entry":
            self.links.entries += 1
            self._entry.append((a.get("data-name") or "", self._depth))
        elif testid == "download" and self._entry and a.get("href"):
            self.links.downloads[self._entry[-1][0]] = a["href"]
        elif testid == "zip" and a.get("href"):
            self.links.zip = a["href"]
        elif testid == "search" and self._form and self._form[1] == "get" and a.get("name"):
            self.links.search_form = (self._form[0], a["name"])
        if tag not in _VOID:
            self._depth += 1

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if tag not in _VOID:
            self._depth -= 1
            while self._entry and self._entry[-1][1] >= self._depth:
                self._entry.pop()


_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


def parse_page(text: str) -> PageLinks:
    parser = _Parser()
    parser.feed(text)
    parser.close()
    return parser.links
