"""A lean path for the contact page's most common request: one file, opened or
downloaded through a personal link.

Through the web app, a file URL builds a werkzeug request and response, resolves
the link by loading three models, walks the share path with an ``lstat`` per
component and wraps the file twice: about a millisecond before the first byte.
:class:`FastFile` sits in front of the web app and answers the plain case itself:

- ``GET``/``HEAD`` of ``/s/TOKEN/download/PATH`` or ``/s/TOKEN/open/PATH``, without
  a body, a query, ``Range`` or any ``If-*`` header;
- the link's state in one query (``access.link_state``): a live grant whose consent
  is given or not needed;
- the share's path rules: ``split_share_path``, hidden names, the file opened
  confined (``ConfinedFiles``: no symbolic link on the way), a regular file with one
  link; a small one from memory while unchanged (``SmallFiles``), in one send with
  its headers;
- the web app's answer byte for byte: the headers of ``webui.files.send_file`` and
  of ``WebApp`` for personal links;
- the same tracking: the event of ``webui.share``, journaled before the first byte,
  counted by ``tracked_body``, cut when the link is revoked meanwhile.

Everything else goes to the web app unchanged: previews (``/p/``), every error
(unknown, revoked or expired link, missing or hidden file: one 404 page, a
``denied`` event), consent not yet given (the redirect), ranges and conditional
requests, and odd paths.
"""

from __future__ import annotations

import functools
import os

from werkzeug.http import dump_options_header, http_date, quote_etag

from gateway import urls
from gateway.config import Config
from gateway.services import access, catalog, web_events
from gateway.serving import small_files
from gateway.serving.delivery import BIG_BLOCK, FileBlocks, FileShrank, tracked_body
from gateway.serving.edge import DATABASE_ERRORS
from gateway.shares import is_hidden_from_contacts, split_share_path
from webui.files import content_disposition, etag_of, inline_type

PREFIX = urls.SHARE + "/"
ACTIONS = {"download": False, "open": True}  # action: asks to show inline
#: Requests that need the web app's full answer (ranges, preconditions, a body).
_DELEGATED = (
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_TRANSFER_ENCODING",
)
PERSONAL_HEADERS = [
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
]


class _Fallthrough(Exception):
    """Not the plain case: the web app answers."""


@functools.lru_cache(maxsize=4096)
def _last_modified(mtime: float) -> str:
    return http_date(mtime)


class FastFile:
    """WSGI app: answers plain file URLs of personal links, hands the rest to ``app``
    (the web app). See the module docstring."""

    def __init__(self, app, config: Config):
        self.app = app
        self.config = config
        self.files = small_files.for_share(os.path.realpath(config.properties_dir))
        self.block_size = max(config.block_size, BIG_BLOCK)

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if (method == "GET" or method == "HEAD") and environ.get("PATH_INFO", "").startswith(
            PREFIX
        ):
            try:
                return self._serve(environ, start_response, method == "HEAD")
            except _Fallthrough:
                pass
            except DATABASE_ERRORS:
                pass  # the web app's own answer to an outage
        return self.app(environ, start_response)

    def _serve(self, environ, start_response, head: bool):
        get = environ.get
        if get("QUERY_STRING") or get("CONTENT_LENGTH") not in (None, "", "0"):
            raise _Fallthrough
        for name in _DELEGATED:
            if name in environ:
                raise _Fallthrough
        token, inline, path = _split(get("PATH_INFO", ""))
        link = access.link_state(token)
        if link is None or not link.live or link.needs_consent:
            raise _Fallthrough  # 404 page (and a denied event), or the consent redirect
        parts = split_share_path(path)
        # the share rule drops empty segments and refuses unsafe ones: any difference
        # is a path the web app normalises or refuses
        if not parts or parts != path.split("/"):
            raise _Fallthrough
        if any(is_hidden_from_contacts(part) for part in parts):
            raise _Fallthrough
        opened = self.files.open([link.property_key, *parts])
        if opened is None:
            raise _Fallthrough
        try:
            return self._respond(environ, start_response, head, token, link, parts, inline, opened)
        except BaseException:
            opened.close()
            raise

    def _respond(self, environ, start_response, head, token, link, parts, inline, opened):
        info = opened.info
        name = parts[-1]
        shown_inline = inline and inline_type(name) is not None
        disposition, options = content_disposition("inline" if shown_inline else "attachment", name)
        headers = [
            ("Content-Type", inline_type(name) if shown_inline else "application/octet-stream"),
            ("Content-Length", str(info.st_size)),
            ("Last-Modified", _last_modified(info.st_mtime)),
            ("ETag", quote_etag(etag_of(info))),
            ("Content-Disposition", dump_options_header(disposition, options)),
            ("Accept-Ranges", "bytes"),
            *PERSONAL_HEADERS,
        ]
        if head:
            opened.close()
            start_response("200 OK", headers)
            return [b""]
        path = "/".join(parts)
        who = web_events.visitor_of(
            self.config,
            link.property_key,
            link.contact_ref,
            environ.get("REMOTE_ADDR"),
            environ.get("HTTP_USER_AGENT"),
        )
        event = web_events.new_event(
            who,
            "open" if shown_inline else "download",
            path,
            status=200,
            size=info.st_size,
            sha256=catalog.file_version(self.config, link.property_key, path, info),
        )
        start_response("200 OK", headers)
        return tracked_body(
            self._body(opened),
            event,
            still_allowed=functools.partial(access.link_is_live, token),
        )

    def _body(self, opened):
        """A small file's bytes in one piece (they go out with the headers, and are
        kept for the next request); a larger one in blocks, sent by ``sendfile``."""
        if opened.info.st_size > self.files.max_file_bytes:
            return FileBlocks(opened.fd, 0, opened.info.st_size, self.block_size)
        try:
            data = opened.read(0, opened.info.st_size)
        finally:
            opened.close()
        if len(data) != opened.info.st_size:
            raise FileShrank()  # truncated since its stat
        return [data]


def _split(path_info: str) -> tuple[str, bool, str]:
    """Token, action and share path of ``/s/TOKEN/ACTION/PATH``."""
    try:
        path = path_info.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise _Fallthrough from None
    token, _, rest = path[len(PREFIX) :].partition("/")
    action, _, share_path = rest.partition("/")
    if not token or action not in ACTIONS:
        raise _Fallthrough
    if not share_path.isprintable():
        raise _Fallthrough  # control characters: never into a header (the web app: 404)
    return token, ACTIONS[action], share_path
