"""Objekte: every property with its documents, contacts and last access; search;
create a property and change its title and consent setting.

Each change is one call of the domain service the CLI calls too
(``services.properties``), so the rules (key syntax, empty title) are the CLI's.
"""

from __future__ import annotations

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from gateway.errors import AlreadyExists, InvalidInput
from gateway.services import overview, properties
from webui.dashboard import links
from webui.dashboard.session import dashboard_page, render
from webui.dashboard.words import DashboardTranslator

MAX_TITLE = properties.Property.title.max_length


def _search(request: Request) -> str:
    return request.args.get("q", "")[: overview.MAX_SEARCH]


def _list(app, request, login, *, status=200, message=None, form=None):
    query = _search(request)
    return render(
        app,
        request,
        "dashboard/properties.html",
        login,
        status=status,
        query=query,
        rows=overview.property_summaries(query),
        message=message,
        form=form or {},
    )


@dashboard_page
def properties_page(app, request: Request, login) -> Response:
    return _list(app, request, login)


@dashboard_page
def create_property(app, request: Request, login) -> Response:
    key = request.form.get("key", "").strip()[:65]
    title = request.form.get("title", "")
    consent = request.form.get("consent") == "yes"
    try:
        if len(title) > MAX_TITLE:
            raise InvalidInput(f"the title is longer than {MAX_TITLE} characters")
        properties.add_property(app.config, key, title, requires_consent=consent)
    except (InvalidInput, AlreadyExists) as exc:
        form = {"key": key, "title": title[:MAX_TITLE], "consent": consent}
        return _list(app, request, login, status=400, message=str(exc), form=form)
    return redirect(links.property_page(key) + "?notice=created", 303)


@dashboard_page
def update_property(app, request: Request, login, key: str) -> Response:
    """Title and consent setting, through the domain's update (the CLI's ``property set``)."""
    from webui.dashboard.property_page import show_property

    title = request.form.get("title", "")
    consent = request.form.get("consent") == "yes"
    try:
        if len(title) > MAX_TITLE:
            raise InvalidInput(f"the title is longer than {MAX_TITLE} characters")
        change_property(key, title, consent)
    except InvalidInput as exc:
        return show_property(app, request, login, key, status=400, message=str(exc))
    return redirect(links.property_page(key) + "?notice=saved", 303)


def change_property(key: str, title: str, consent: bool) -> None:
    update = getattr(properties, "update_property", None)
    if update is None:  # the domain's update arrives with the provisioning API
        raise InvalidInput(DashboardTranslator("en")("not_found"))
    update(key, title=title, requires_consent=consent)
