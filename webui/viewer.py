"""Who holds a link: a contact's grant (``/s/TOKEN``) or an agent's preview of a
property (``/p/TOKEN``). A link that is not valid yields None, whatever the reason."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote, urlencode

from werkzeug.wrappers import Request

from gateway.errors import AccessDenied, NotFound
from gateway.models import Grant, Property
from gateway.services import access, web_events

CONTACT = "s"
PREVIEW = "p"
# The property a request's link belongs to, also when the link was revoked or ran out:
# its pages, error pages included, name that property's contact person. Only a real
# link's holder gets here; an unknown token leaves it unset.
LINK_PROPERTY = "immoshare.link_property"


@dataclasses.dataclass(frozen=True)
class Viewer:
    prefix: str
    token: str
    property: Property
    grant: Grant | None

    @property
    def base(self) -> str:
        return f"/{self.prefix}/{self.token}"

    @property
    def is_preview(self) -> bool:
        return self.prefix == PREVIEW

    def url(self, action: str, path: str = "", **params) -> str:
        """``BASE/ACTION/PATH?PARAMS`` with the path quoted; ``BASE/`` without action."""
        url = f"{self.base}/{action}/{quote(path, safe='/')}" if action else f"{self.base}/"
        query = {k: v for k, v in params.items() if v}
        return url + ("?" + urlencode(query) if query else "")


def visitor(app, request: Request, grant: Grant) -> web_events.Visitor:
    """The request's contact; ``REMOTE_ADDR`` is already the client's behind trusted
    proxies (``gateway.serving.edge``)."""
    return web_events.visitor(app.config, grant, request.remote_addr, request.user_agent.string)


def load_viewer(app, request: Request, prefix: str, token: str) -> Viewer | None:
    """The viewer behind ``token``; None (and a ``denied`` event for a known but
    revoked or expired grant) when the link is not valid."""
    if prefix == PREVIEW:
        try:
            prop = access.resolve_preview(token)
        except NotFound:
            return None
        request.environ[LINK_PROPERTY] = prop
        return Viewer(prefix, token, prop, None)
    try:
        grant = access.resolve_link(token)
    except NotFound:
        return None
    except AccessDenied as denied:
        request.environ[LINK_PROPERTY] = denied.args[1].property
        web_events.record(visitor(app, request, denied.args[1]), "denied", "", status=404)
        return None
    request.environ[LINK_PROPERTY] = grant.property
    return Viewer(prefix, token, grant.property, grant)
