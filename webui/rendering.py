"""One jinja Environment: autoescape always, strict undefined, German first, and the
few helpers templates need to show who is asking."""

from __future__ import annotations

import re

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_NOT_DIALLED = re.compile(r"[^0-9+]")


def tel(phone: str) -> str:
    """A phone number as a ``tel:`` link dials it: "+49 (911) 12-34" → "+499111234"."""
    return _NOT_DIALLED.sub("", phone)


def monogram(name: str) -> str:
    """The agency's initials, the logo's stand-in until one is set: "Muster Immobilien
    GmbH" → "MI" (legal forms are not initials)."""
    words = [w for w in re.findall(r"\w+", name) if w.lower() not in LEGAL_FORMS]
    return "".join(w[0] for w in words[:2]).upper() or name[:1].upper()


LEGAL_FORMS = {"gmbh", "ag", "kg", "ohg", "ug", "co", "mbh", "ek", "e", "k", "gbr", "und"}


def make_environment() -> Environment:
    """Templates are package data of ``webui`` (``webui/templates/``), found the same way
    in a checkout and in an installed wheel."""
    environment = Environment(
        loader=PackageLoader("webui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["tel"] = tel
    environment.globals["monogram"] = monogram
    return environment
