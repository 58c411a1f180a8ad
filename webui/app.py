"""The WSGI application of the web side: dispatch, error pages, headers, DB scope."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Request, Response

from gateway.config import Config
from gateway.db import database
from gateway.errors import AccessDenied
from gateway.errors import NotFound as DomainNotFound
from gateway.services import access
from webui.rendering import make_environment
from webui.routes import URL_MAP

SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)


class WebApp:
    def __init__(self, config: Config):
        self.config = config
        self.templates = make_environment()

    def render(self, template: str, status: int = 200, **context) -> Response:
        body = self.templates.get_template(template).render(**context)
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    def not_found(self) -> Response:
        response = self.render("errors/404.html", status=404)
        response.headers["Cache-Control"] = "no-store"
        return response

    def on_healthz(self, request: Request) -> Response:
        database.execute_sql("SELECT 1")
        return Response("ok", content_type="text/plain")

    def on_share(self, request: Request, token: str) -> Response:
        try:
            grant = access.resolve_link(token)
        except (DomainNotFound, AccessDenied):
            return self.not_found()
        response = self.render("share/placeholder.html", title=grant.property.title)
        response.headers["Cache-Control"] = "no-store"
        return response

    def dispatch(self, request: Request) -> Response:
        adapter = URL_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            return getattr(self, f"on_{endpoint}")(request, **values)
        except NotFound:
            return self.not_found()
        except HTTPException as exc:
            return exc.get_response(request.environ)

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.dispatch(request)
        if response.mimetype == "text/html":
            for name, value in SECURITY_HEADERS:
                response.headers.setdefault(name, value)
        return response(environ, start_response)


def create_app(config: Config) -> WebApp:
    return WebApp(config)
