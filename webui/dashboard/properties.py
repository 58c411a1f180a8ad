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
from webui.dashboard.property_page import show_property
from webui.dashboard.session import dashboard_page, render
from webui.dashboard.words import Problem


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
        properties.add_property(app.config, key, title, requires_consent=consent)
    except (InvalidInput, AlreadyExists) as exc:
        form = {"key": key, "title": title[: properties.TITLE_LENGTH], "consent": consent}
        problem = (
            Problem("property_exists") if isinstance(exc, AlreadyExists) else Problem.not_saved(exc)
        )
        return _list(app, request, login, status=400, message=problem, form=form)
    return redirect(links.property_page(key) + "?notice=created", 303)


@dashboard_page
def update_property(app, request: Request, login, key: str) -> Response:
    """Title and consent setting, as ``property set`` and ``PATCH /api/v1/properties/KEY``."""
    try:
        properties.update_property(
            key,
            title=request.form.get("title", ""),
            requires_consent=request.form.get("consent") == "yes",
        )
    except InvalidInput as exc:
        return show_property(app, request, login, key, status=400, message=Problem.not_saved(exc))
    return redirect(links.property_page(key) + "?notice=saved", 303)
