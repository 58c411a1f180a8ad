"""The dashboard's URLs, built in one place from ``gateway.urls.AGENT_DASHBOARD``.
Keys and refs are quoted; a ref (which may hold ``/``) is always the last part of a
path, where the routes take it whole."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from gateway.urls import AGENT_DASHBOARD as ROOT

HOME = ROOT + "/"
LOGIN = ROOT + "/login"
LOGOUT = ROOT + "/logout"
PROPERTIES = ROOT + "/properties"
TRACKING = ROOT + "/tracking"
TRACKING_CSV = ROOT + "/tracking.csv"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _ref(value: str) -> str:
    return quote(value, safe="/")


def property_page(key: str) -> str:
    return f"{PROPERTIES}/{_segment(key)}"


def property_action(key: str, action: str) -> str:
    """POST targets of one property: ``edit``, ``active``, ``expiry``, ``grant``, ``invite``."""
    return f"{property_page(key)}/{action}"


def contact_page(ref: str) -> str:
    return f"{ROOT}/contacts/{_ref(ref)}"


def report(key: str, ref: str) -> str:
    return f"{ROOT}/report/{_segment(key)}/{_ref(ref)}"


def contact_export(ref: str) -> str:
    return f"{ROOT}/export/{_ref(ref)}"


def tracking(**params) -> str:
    given = {k: v for k, v in params.items() if v not in (None, "")}
    return TRACKING + ("?" + urlencode(given) if given else "")


def tracking_csv(**params) -> str:
    given = {k: v for k, v in params.items() if v not in (None, "")}
    return TRACKING_CSV + ("?" + urlencode(given) if given else "")
