"""Tracking of WebDAV reads: a wrapper around the whole WsgiDAV app.

It must sit outside WsgiDAV: inside the middleware stack, below ``ErrorPrinter``,
``close()`` is never called when a client hangs up (WSGIDAV.md §3.3). For each GET
it puts a :class:`DavAccess` record into ``environ``; the domain controller fills in
the principal, and ``GatewayFile.get_content`` calls ``mark_file`` when a real file
body is about to be sent. HEAD, OPTIONS, PROPFIND, 304, 412 and 416 never reach
``get_content``, so they are no accesses. The body is counted like a web download
(``gateway.serving.delivery``): journaled before its first byte, finished on close with the
bytes sent and the range's start; ``complete`` only when the whole file went out
(``tracking.settle_transfer``, the rule of web downloads too). Agents' reads are
recorded with ``agent`` set.
"""

from __future__ import annotations

import logging

from dav_provider.provider import PRINCIPAL_KEY
from dav_provider.resources import ACCESS_KEY
from gateway.config import Config
from gateway.services import catalog, tracking
from gateway.services.access import visible_property_keys
from gateway.serving.delivery import CountingBody, tracked_body

log = logging.getLogger("immoshare.tracking")


class DavAccess:
    """What one GET did: who asked, which file, the response's status and range."""

    def __init__(self, config: Config):
        self.config = config
        self.principal = None  # set by GatewayDomainController
        self.event: tracking.Event | None = None
        self.status: int | None = None
        self.range_start: int | None = None

    def response_started(self, status: str, headers: list[tuple[str, str]]) -> None:
        """WsgiDAV passes the status on only when the body starts, after
        ``get_content``: the event takes it from here then."""
        self.status = _number(status.split(" ", 1)[0])
        for name, value in headers:
            if name.lower() == "content-range" and value.startswith("bytes "):
                self.range_start = _number(value[6:].split("-", 1)[0])  # not "*/size" (416)

    def mark_file(self, property_key, share_path, file_path, file_stat, environ) -> None:
        """A file body is about to be sent (called by ``GatewayFile.get_content``)."""
        principal = self.principal or environ.get(PRINCIPAL_KEY)
        if principal is None:
            return
        rel_path = share_path.strip("/").partition("/")[2]
        try:
            sha256 = catalog.file_version(self.config, property_key, rel_path, stat=file_stat)
        except Exception:  # noqa: BLE001 - never fail a download over its hash
            log.exception("tracking: hashing %s/%s failed", property_key, rel_path)
            sha256 = None
        self.event = tracking.Event(
            property=property_key,
            channel="dav",
            action="download",
            path=rel_path,
            contact=None if principal.is_agent else principal.name,
            agent=principal.name if principal.is_agent else None,
            size=file_stat.st_size,
            sha256=sha256,
            ip=environ.get("REMOTE_ADDR"),
            user_agent=environ.get("HTTP_USER_AGENT"),
        )

    def _settle(self) -> tracking.Event | None:
        """The event with the response's status and range, once they are known."""
        if self.event is not None:
            self.event.status = self.status
            self.event.range_start = self.range_start if self.status == 206 else None
        return self.event

    def body(self, body) -> CountingBody:
        return tracked_body(body, self._settle, still_allowed=self.still_allowed)

    def still_allowed(self) -> bool:
        """A contact's download stops once the property is no longer theirs."""
        if self.event is None or self.principal is None or self.principal.is_agent:
            return True
        return self.event.property in visible_property_keys(self.principal)


def _number(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def track_dav(app, config: Config):
    """Wrap the WsgiDAV app so that every file GET becomes a tracking event."""

    def tracked(environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET":
            return app(environ, start_response)
        access = DavAccess(config)
        environ[ACCESS_KEY] = access

        def start(status, headers, exc_info=None):
            access.response_started(status, headers)
            return start_response(status, headers, exc_info)

        return access.body(app(environ, start))

    return tracked
