"""One jinja Environment: autoescape always, strict undefined, German first."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def make_environment() -> Environment:
    """Templates are package data of ``webui`` (``webui/templates/``), found the same way
    in a checkout and in an installed wheel."""
    return Environment(
        loader=PackageLoader("webui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
