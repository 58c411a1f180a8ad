"""Helpers for contact page tests: a property with awkward file names, a contact with
a link, and reading the page's ``data-testid`` hooks from HTML."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from gateway.services import grants
from tests.factories import make_contact, make_grant, make_property

# The sample share: umlauts, ß, spaces, '#', '%', '?', quotes and markup in names. A
# name cannot hold '/', so "<script>alert(1)</script>.pdf" is a folder and a file.
FILES = {
    "Exposé Musterstraße 5.pdf": b"%PDF-1.4 expose " + b"x" * 3000,
    "Grundrisse/Grundriß_EG.pdf": b"%PDF-1.4 eg " + b"e" * 1200,
    "Grundrisse/Grundriss Keller.pdf": b"%PDF-1.4 keller " + b"k" * 800,
    "GRUNDRISS OG.pdf": b"%PDF-1.4 og " + b"o" * 2000,
    "Energieausweis/Energieausweis 2024.pdf": b"%PDF-1.4 energie " + b"n" * 500,
    'Fotos/Garten #1 100% "schön"?.jpg': b"\xff\xd8\xff garden",
    "<script>alert(1)</script>.pdf": b"%PDF-1.4 script",
    "<img src=x onerror=alert(1)>.txt": b"plain text",
    "notizen.txt": b"Besichtigung am Montag",
    ".DS_Store": b"junk",
    "._Exposé Musterstraße 5.pdf": b"junk",
    "Thumbs.db": b"junk",
}
VISIBLE_FILES = sorted(k for k in FILES if not k.rsplit("/", 1)[-1].startswith((".", "Thumbs")))


@dataclasses.dataclass
class Share:
    link: str  # path of the personal link, "/s/TOKEN"
    preview: str  # path of the preview link, "/p/TOKEN"
    grant: grants.GrantResult


def make_share(
    config,
    *,
    key="obj-1",
    ref="4711",
    requires_consent=False,
    files=None,
    email=None,
    title="Musterstraße 5, 90402 Nürnberg",
) -> Share:
    make_property(
        config,
        key,
        title,
        requires_consent=requires_consent,
        files=FILES if files is None else files,
    )
    make_contact(ref, email=email)
    granted = make_grant(config, key, ref)
    return Share(
        link=urlsplit(granted.link).path,
        preview=urlsplit(grants.preview_link(config, key)).path,
        grant=granted,
    )


@dataclasses.dataclass
class Hook:
    testid: str
    attrs: dict
    text: str = ""
    children: list = dataclasses.field(default_factory=list)


class HookParser(HTMLParser):
    """Collects elements with ``data-testid`` (their attributes and text), nested."""

    VOID = {"input", "img", "br", "meta", "link", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hooks: list[Hook] = []
        self._stack: list[tuple[str, Hook | None]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        hook = Hook(attrs["data-testid"], attrs) if "data-testid" in attrs else None
        if hook is not None:
            parent = next((h for _, h in reversed(self._stack) if h is not None), None)
            (parent.children if parent else self.hooks).append(hook)
        if tag not in self.VOID:
            self._stack.append((tag, hook))

    def handle_endtag(self, tag):
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _, hook in self._stack:
            if hook is not None:
                hook.text += data


def hooks(html: str) -> list[Hook]:
    parser = HookParser()
    parser.feed(html)
    return parser.hooks


def find(html: str, testid: str) -> list[Hook]:
    found = []

    def walk(items):
        for hook in items:
            if hook.testid == testid:
                found.append(hook)
            walk(hook.children)

    walk(hooks(html))
    return found


def entries(html: str) -> list[Hook]:
    return find(html, "entry")


def entry_names(html: str) -> list[str]:
    return [e.attrs["data-name"] for e in entries(html)]


def consent_fields(html: str) -> dict:
    """What a browser posts from the consent form with every box ticked."""
    form = html.split('data-testid="consent-form"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    boxes = re.findall(r'type="checkbox"[^>]* name="([^"]+)"', form)
    fields.update({name: "yes" for name in boxes})
    return fields
