"""What every page template gets: words in the chosen language, branding (who asks),
the link's contact person, asset URLs, and the cookies that remember the visitor's
choices (language, list or tiles)."""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from gateway import urls
from gateway.services import branding
from gateway.services.contact_person import contact_person_of
from webui.i18n import COOKIE as LANG_COOKIE
from webui.i18n import LANGUAGES, Translator, choose_language
from webui.static import logo_url, static_url
from webui.viewer import LINK_PROPERTY

VIEW_COOKIE = "view"
VIEWS = ("list", "tiles")
ONE_YEAR = 365 * 24 * 3600


def language(request: Request) -> str:
    return choose_language(
        request.args.get("lang"), request.cookies.get(LANG_COOKIE), request.accept_languages
    )


def view_choice(request: Request) -> str:
    for candidate in (request.args.get("view"), request.cookies.get(VIEW_COOKIE)):
        if candidate in VIEWS:
            return candidate
    return VIEWS[0]


def query_link(request: Request, **changes) -> str:
    """``?…`` of the current query with ``changes`` (None removes a parameter)."""
    params = {k: v for k, v in request.args.items()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(params) if params else "?"


def page_context(app, request: Request) -> dict:
    lang = language(request)
    current = branding.get_branding(app.config)
    link_property = request.environ.get(LINK_PROPERTY)
    return {
        "t": Translator(lang),
        "lang": lang,
        "agency": current.name,
        "logo_url": logo_url(current),
        "imprint_url": current.imprint_url or (urls.IMPRINT if current.imprint_text else None),
        "privacy_url": urls.PRIVACY,
        "contact_person": contact_person_of(link_property) if link_property else None,
        "static": static_url,
        "language_links": [(code, query_link(request, lang=code)) for code in LANGUAGES],
    }


def remember_choices(request: Request, response: Response) -> Response:
    """Keep ``?lang=`` and ``?view=`` on this device for the next visit."""
    secure = request.scheme == "https"
    if request.args.get("lang") in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            request.args["lang"],
            max_age=ONE_YEAR,
            path="/",
            samesite="Lax",
            secure=secure,
            httponly=True,
        )
    if request.args.get("view") in VIEWS:
        response.set_cookie(
            VIEW_COOKIE,
            request.args["view"],
            max_age=ONE_YEAR,
            path="/",
            samesite="Lax",
            secure=secure,
        )
    return response
