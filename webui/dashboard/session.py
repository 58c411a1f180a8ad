"""Signing in and out of the dashboard, the session cookie, and the guard every
dashboard page passes.

The cookie holds the session token (``gateway.services.agent_sessions``): HttpOnly,
``SameSite=Strict`` (no other site's link or form carries it), ``Secure`` under
TLS, path ``/agent/``. Every form carries a CSRF token: an HMAC of the session token
under the home's key (``webui.csrf.form_token``), so it is worthless with any other
session, and the browser's ``Sec-Fetch-Site``/``Origin`` must say same-site too.
The login form, before any session, is bound the same way to a random cookie of
its own (a double submit, as the consent form does). A wrong password answers 401,
which the edge counts against the client's failed logins together with WebDAV's
(``gateway.serving.edge``).
"""

from __future__ import annotations

import functools
import hmac
from urllib.parse import quote, urlsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from gateway.errors import AccessDenied, NotFound
from gateway.security import link_secret
from gateway.services import agent_sessions
from webui import csrf
from webui.context import page_context, remember_choices
from webui.dashboard import links
from webui.dashboard.words import DashboardTranslator

COOKIE = "immoshare_agent"
COOKIE_PATH = links.HOME
LOGIN_SCOPE = "agent-login"
#: The login form's double-submit cookie; its own name, as the contact page's lives at "/".
LOGIN_CSRF_COOKIE = "immoshare_agent_csrf"
NO_STORE = (("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"))


def public_host(config) -> str | None:
    return urlsplit(config.base_url).netloc if config.base_url else None


def context(app, request: Request, login=None) -> dict:
    """What every dashboard template gets: the page context with the dashboard's words,
    the signed-in agent and the CSRF token of their session."""
    values = page_context(app, request)
    values["t"] = DashboardTranslator(values["lang"])
    values["login"] = login
    values["csrf_token"] = session_csrf(app, login) if login else ""
    values["links"] = links
    values["section"] = ""
    return values


def render(app, request: Request, template: str, login=None, status: int = 200, **values):
    response = app.render(template, status=status, **{**context(app, request, login), **values})
    for name, value in NO_STORE:
        response.headers[name] = value
    return remember_choices(request, response)


def session_csrf(app, login: agent_sessions.AgentLogin) -> str:
    return csrf.form_token(link_secret(app.config), login.token, "agent-session")


def csrf_ok(app, request: Request, login: agent_sessions.AgentLogin) -> bool:
    submitted = request.form.get("csrf", "")
    return csrf.same_origin(request, public_host(app.config)) and hmac.compare_digest(
        submitted.encode(), session_csrf(app, login).encode()
    )


def _safe_next(target: str | None) -> str:
    """Only a path of the dashboard itself, never another site."""
    if target and target.startswith(links.HOME) and "//" not in target and "\\" not in target:
        return target
    return links.HOME


def dashboard_page(view):
    """Run ``view(app, request, login, **values)`` for a signed-in agent: others are
    sent to the login form; a POST without this session's CSRF token changes nothing
    (403); a property or contact that does not exist is the 404 page."""

    @functools.wraps(view)
    def guarded(app, request: Request, **values) -> Response:
        login = agent_sessions.current_login(request.cookies.get(COOKIE))
        if login is None:
            if request.method == "POST":
                return render(app, request, "dashboard/expired.html", status=403)
            target = request.full_path.rstrip("?") if request.method == "GET" else links.HOME
            return redirect(links.LOGIN + "?next=" + quote(target, safe="/"), 303)
        if request.method == "POST" and not csrf_ok(app, request, login):
            return render(app, request, "dashboard/expired.html", login, status=403)
        try:
            response = view(app, request, login, **values)
        except (NotFound, AccessDenied):
            return render(app, request, "dashboard/not_found.html", login, status=404)
        for name, value in NO_STORE:
            response.headers.setdefault(name, value)
        return response

    return guarded


def _login_form(app, request: Request, *, status: int = 200, message: str | None = None):
    cookie = _login_cookie(request) or csrf.new_cookie_value()
    response = render(
        app,
        request,
        "dashboard/login.html",
        status=status,
        message=message,
        next=_safe_next(request.values.get("next")),
        login_csrf=csrf.form_token(link_secret(app.config), cookie, LOGIN_SCOPE),
        user=request.form.get("user", "")[: agent_sessions.MAX_NAME_LENGTH],
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        cookie,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.scheme == "https",
    )
    return response


def _login_cookie(request: Request) -> str | None:
    value = request.cookies.get(LOGIN_CSRF_COOKIE)
    return value if value and len(value) == 43 else None


def _login_csrf_ok(app, request: Request) -> bool:
    cookie = _login_cookie(request)
    if cookie is None or not csrf.same_origin(request, public_host(app.config)):
        return False
    expected = csrf.form_token(link_secret(app.config), cookie, LOGIN_SCOPE)
    return hmac.compare_digest(request.form.get("csrf", "").encode(), expected.encode())


def login_page(app, request: Request) -> Response:
    if agent_sessions.current_login(request.cookies.get(COOKIE)) is not None:
        return redirect(_safe_next(request.args.get("next")), 303)
    return _login_form(app, request)


def login_submit(app, request: Request) -> Response:
    t = DashboardTranslator(context(app, request)["lang"])
    if not _login_csrf_ok(app, request):
        return _login_form(app, request, status=400, message=t("form_expired"))
    login = agent_sessions.log_in(request.form.get("user", ""), request.form.get("password", ""))
    if login is None:  # 401: counted by the edge like a failed WebDAV login
        return _login_form(app, request, status=401, message=t("login_failed"))
    response = redirect(_safe_next(request.form.get("next")), 303)
    response.set_cookie(
        COOKIE,
        login.token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.scheme == "https",
    )
    return response


@dashboard_page
def logout(app, request: Request, login) -> Response:
    agent_sessions.log_out(login.token)
    response = redirect(links.LOGIN, 303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
