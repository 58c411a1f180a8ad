"""The files immoshare reads at run time that admins also read in the repository:
the commented default ``immoshare.yaml``, the WsgiDAV settings ``wsgidav.yaml`` and
the sample consent texts of ``config/consent/``.

They stay at the top of the repository, where admins look for them; the entries of
this package are symbolic links to them, and building the wheel copies their content
in. Read through :mod:`importlib.resources` only, so an installed wheel finds them
exactly as a checkout does, and nothing is looked up beside the source tree.
"""

from __future__ import annotations

from importlib import resources

DEFAULT_CONFIG = "immoshare.yaml"
WSGIDAV_SETTINGS = "wsgidav.yaml"
CONSENT_FOLDER = "consent"


def shipped_bytes(*parts: str) -> bytes:
    """The content of a shipped file, e.g. ``shipped_bytes("consent", "agb.txt")``.

    :raises FileNotFoundError: no such file is shipped.
    """
    return resources.files(__name__).joinpath(*parts).read_bytes()


def shipped_text(*parts: str) -> str:
    """A shipped file decoded as UTF-8."""
    return shipped_bytes(*parts).decode("utf-8")
