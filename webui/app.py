"""The WSGI application of the web side: dispatch, error pages, personal-link headers.

The security headers of every HTML page (Content-Security-Policy and the rest) are
written by the edge (``gateway.serving.edge``) for the whole site; the composition
root (``gateway.server``) builds this app and starts the mail worker it hands in.
"""

from __future__ import annotations

import logging

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Request, Response

from gateway import urls
from gateway.config import Config
from gateway.db import database
from gateway.services.outbox import MailWorker
from gateway.serving.edge import DATABASE_ERRORS
from webui import api
from webui.context import page_context
from webui.rendering import make_environment
from webui.routes import URL_MAP

log = logging.getLogger("immoshare.web")
# Personal links carry their token in the URL: never cached, never sent on as Referer.
PERSONAL_PREFIXES = tuple(prefix + "/" for prefix in urls.PERSONAL_PAGES)
PERSONAL_HEADERS = (("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"))


class WebApp:
    def __init__(self, config: Config, confirmations: MailWorker):
        self.config = config
        self.templates = make_environment()
        self.confirmations = confirmations  # kicked after each consent

    def render(self, template: str, status: int = 200, **context) -> Response:
        body = self.templates.get_template(template).render(**context)
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    def not_found(self, request: Request) -> Response:
        """The one page for unknown, revoked and expired links and missing paths."""
        response = self.render("errors/404.html", status=404, **page_context(self, request))
        response.headers["Cache-Control"] = "no-store"
        return response

    def on_healthz(self, request: Request) -> Response:
        database.execute_sql("SELECT 1")
        return Response("ok", content_type="text/plain")

    def on_api_events(self, request: Request) -> Response:
        return api.events(self, request)

    def dispatch(self, request: Request) -> Response:
        adapter = URL_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            if callable(endpoint):
                return endpoint(self, request, **values)
            return getattr(self, f"on_{endpoint}")(request, **values)
        except NotFound:
            return self.not_found(request)
        except HTTPException as exc:
            return exc.get_response(request.environ)
        except DATABASE_ERRORS:
            raise  # the edge answers 503 + Retry-After, and the client retries
        except Exception:  # noqa: BLE001 - one calm page; the URL (a token) is not logged
            log.exception("error answering a web request")
            return self.render("errors/500.html", status=500, **page_context(self, request))

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.dispatch(request)
        if request.path.startswith(PERSONAL_PREFIXES):
            for name, value in PERSONAL_HEADERS:
                response.headers[name] = value
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response(environ, start_response)
