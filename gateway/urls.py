"""The one place that knows the shape of immoshare's URLs.

Every adapter routes by these prefixes and every printed link is built here, so a
prefix changes in one line (the table of paths is in ``docs/interface.md``). Pure
string work: no configuration is read here; callers pass the origin they print for
(``gateway.services.grants.base_url``).
"""

from __future__ import annotations

from urllib.parse import quote

#: Agents' read-write WebDAV share; one folder per property.
AGENT_DAV = "/dav"
#: Contacts' read-only WebDAV share: the properties granted to them.
CONTACT_DAV = "/view"
#: Both WebDAV shares, as WsgiDAV's provider mapping names them.
DAV_SHARES = (AGENT_DAV, CONTACT_DAV)
#: A contact's personal page: ``/s/TOKEN``.
SHARE = "/s"
#: The agent's preview of a contact page: ``/p/TOKEN``.
PREVIEW = "/p"
#: Both personal-page prefixes, as the web app and the edge route them.
PERSONAL_PAGES = (SHARE, PREVIEW)
#: The agents' dashboard.
AGENT_DASHBOARD = "/agent"
#: One contact on the dashboard: ``/agent/contacts/REF``.
AGENT_CONTACTS = AGENT_DASHBOARD + "/contacts"
#: The CRM's API.
API = "/api/v1"
#: Static files of the web pages.
STATIC = "/static"
#: The agency's Impressum (when it is given as text) and the privacy notice.
IMPRINT = "/impressum"
PRIVACY = "/datenschutz"
#: Liveness for monitoring and ``immoshare doctor``.
HEALTH = "/healthz"


def under(prefix: str, path: str) -> bool:
    """True when ``path`` is ``prefix`` itself or lies below it (``/dav``, ``/dav/x``
    but not ``/davx``)."""
    return path == prefix or path.startswith(prefix + "/")


def agent_dav_url(origin: str) -> str:
    return f"{origin}{AGENT_DAV}/"


def agent_dashboard_url(origin: str) -> str:
    return f"{origin}{AGENT_DASHBOARD}/"


def contact_dav_url(origin: str) -> str:
    return f"{origin}{CONTACT_DAV}/"


def personal_link(origin: str, token: str) -> str:
    return f"{origin}{SHARE}/{token}"


def preview_link(origin: str, token: str) -> str:
    return f"{origin}{PREVIEW}/{token}"


def health_url(origin: str) -> str:
    return f"{origin}{HEALTH}"


def agent_contact_url(origin: str, ref: str) -> str:
    """A contact's page on the agents' dashboard (their timeline)."""
    return f"{origin}{AGENT_CONTACTS}/{quote(ref, safe='')}"
