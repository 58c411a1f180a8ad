"""The agency's Impressum (when given as text rather than a URL) and the privacy
notice naming the agency as controller: both linked from every page's footer."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.services import branding
from webui.context import page_context, remember_choices


def imprint(app, request: Request) -> Response:
    """The Impressum's text; an Impressum given as a URL is linked directly, and
    without one there is nothing here."""
    text = branding.get_branding(app.config).imprint_text
    if text is None:
        return app.not_found(request)
    page = app.render("legal/imprint.html", imprint=text, **page_context(app, request))
    return remember_choices(request, page)


def privacy(app, request: Request) -> Response:
    current = branding.get_branding(app.config)
    return remember_choices(
        request,
        app.render(
            "legal/privacy.html",
            controller_contact=current.privacy_contact,
            **page_context(app, request),
        ),
    )
