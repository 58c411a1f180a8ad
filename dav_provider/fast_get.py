"""A lean path for the most common WebDAV request: GET or HEAD of one file.

WsgiDAV answers a GET by resolving the request through its whole middleware stack:
path normalisation, the authenticator, lock and ``If`` evaluation, a resource object
with its own ``stat`` calls, and a generator per body. For a 4 KiB file that is most
of the time a request costs. :class:`FastGet` sits between :class:`~dav_provider.guard.DavGuard`
(UTF-8 paths, body limits, the sandbox header) and the WsgiDAV app, inside the tracking
wrapper (``dav_provider.tracking.track_dav``), and answers the plain cases itself:

- the same Basic authentication (``gateway.services.access`` with its verification
  cache; the realm is the share, so agents only on ``/dav``, contacts only on
  ``/view``); a failed login gets WsgiDAV's own 401 answer, so the edge's rate limit
  counts it as before;
- the grant and consent check on every request, in the same query as the
  credentials (``access.authenticate_for_property``): revocation acts on the next
  request;
- the same path rules as the provider: ``split_share_path``, hidden names per share,
  confinement (``ConfinedFiles``: no symbolic link anywhere on the way, the file
  opened with ``O_NOFOLLOW``), regular files with one link only; a small file read
  before comes from memory while its ``stat`` is unchanged (``SmallFiles``);
- WsgiDAV's headers byte for byte: ``ETag`` ``"inode-mtime-size"``, ``Last-Modified``,
  its content type, ``Accept-Ranges``; one range → 206 with ``Content-Range``;
  ``If-None-Match``/``If-Modified-Since`` → 304 as WsgiDAV decides it; HEAD without body;
- tracking through the same record: the tracking wrapper's ``DavAccess`` gets the
  principal and ``mark_file`` exactly as ``GatewayFile.get_content`` does it, so the
  event (``CountingBody``, journal, catalog sha256, ``still_allowed``) is the same.

Anything else goes to WsgiDAV unchanged: other methods, collections, missing or
non-Basic credentials, lock tokens (``If``), ``If-Match``, ``If-Unmodified-Since``,
``If-Range``, a ``Depth`` or a body on GET, unsatisfiable ranges (416), paths that
need normalising, and every case that ends in 404. Those answers stay WsgiDAV's own.
"""

from __future__ import annotations

import functools
import os
import time

from wsgidav import util
from wsgidav.dav_error import DAVError
from wsgidav.http_authenticator import HTTPAuthenticator

from dav_provider.provider import PRINCIPAL_KEY
from dav_provider.resources import ACCESS_KEY
from gateway import security, urls
from gateway.errors import MalformedCredentials
from gateway.services import access
from gateway.serving import small_files
from gateway.serving.delivery import BIG_BLOCK, FileBlocks, FileShrank
from gateway.serving.edge import DATABASE_ERRORS
from gateway.shares import hidden_names, split_share_path

AGENT_SHARE = urls.AGENT_DAV
CONTACT_SHARE = urls.CONTACT_DAV

#: Headers that need WsgiDAV's full evaluation (locks, preconditions, If-Range).
_DELEGATED_HEADERS = ("HTTP_IF", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_RANGE")

_UNAUTHORIZED_BODY = util.to_bytes(HTTPAuthenticator.error_message_401)


class Fallthrough(Exception):
    """The request is not a plain file GET/HEAD: WsgiDAV answers it."""


@functools.lru_cache(maxsize=1024)
def _http_date_of(seconds: int) -> str:
    return util.get_rfc1123_time(seconds)


def http_date(seconds: float | None = None) -> str:
    """WsgiDAV's date format, made once per second (and per file mtime): formatting
    it costs more than a whole 304."""
    return _http_date_of(int(time.time() if seconds is None else seconds))


class FastGet:
    """WSGI app: answers plain file GET/HEAD on the shares, hands the rest to ``app``
    (the WsgiDAV app). See the module docstring."""

    def __init__(self, app, *, block_size: int):
        self.app = app
        self.block_size = max(block_size, BIG_BLOCK)
        self.dav_config = app.config
        self.roots = {}
        self.files = {}
        self.readonly = {}
        for share, provider in app.provider_map.items():
            self.roots[share] = os.path.realpath(provider.root_folder_path)
            self.files[share] = small_files.for_share(self.roots[share])
            self.readonly[share] = bool(provider.readonly)

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method == "GET" or method == "HEAD":
            try:
                return self._serve(environ, start_response, method == "HEAD")
            except Fallthrough:
                pass
            except DATABASE_ERRORS:
                pass  # WsgiDAV's own answer (503 with Retry-After) for an outage
        return self.app(environ, start_response)

    # ------------------------------------------------------------------ request

    def _serve(self, environ, start_response, head: bool):
        get = environ.get
        if get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in environ:
            raise Fallthrough
        if get("HTTP_DEPTH", "0") != "0":
            raise Fallthrough
        for name in _DELEGATED_HEADERS:
            if name in environ:
                raise Fallthrough
        share, parts = share_path(self.roots, get("PATH_INFO", ""))
        if len(parts) < 2:
            raise Fallthrough  # a property folder
        principal = sign_in(environ, share, parts, self.readonly[share])
        if principal is None:
            return unauthorized(share, start_response)
        key = parts[0]
        record = environ.get(ACCESS_KEY)
        if record is not None:
            record.principal = principal
        opened = self.files[share].open(parts)
        if opened is None:
            raise Fallthrough  # missing, a folder (403), a link, a hard link (404)
        try:
            return self._respond(environ, start_response, head, parts, key, opened, record)
        except BaseException:
            opened.close()
            raise

    # ----------------------------------------------------------------- response

    def _respond(self, environ, start_response, head, parts, key, opened, record):
        info = opened.info
        size = info.st_size
        mtime = int(info.st_mtime)
        etag = f"{info.st_ino}-{mtime}-{size}"
        if _not_modified(environ, mtime, etag):
            opened.close()
            start_response("304 Not Modified", [("Content-Length", "0"), ("Date", http_date())])
            return [b""]

        share_path = "/" + "/".join(parts)
        start, length, content_range = 0, size, None
        range_header = environ.get("HTTP_RANGE")
        if range_header is not None and size > 0:
            try:
                ranges, _ = util.obtain_content_ranges(range_header, size)
            except DAVError:
                raise Fallthrough from None  # 416, from WsgiDAV
            if not ranges:
                raise Fallthrough
            start, end, length = ranges[0]
            content_range = f"bytes {start}-{end}/{size}"

        headers = [
            ("Content-Length", str(length)),
            ("Last-Modified", http_date(mtime)),
            ("Content-Type", util.guess_mime_type(share_path, self.dav_config)),
            ("Date", http_date()),
            ("ETag", f'"{etag}"'),
            ("Accept-Ranges", "bytes"),
        ]
        if content_range is not None:
            headers.append(("Content-Range", content_range))
            status = "206 Partial Content"
        else:
            status = "200 OK"

        if head:
            opened.close()
            start_response(status, headers)
            return [b""]
        if record is not None:
            # as GatewayFile.get_content does it: the body of this file is about to go out
            record.mark_file(key, share_path, opened.path, info, environ)
        start_response(status, headers)
        if length <= self.block_size:
            try:
                data = opened.read(start, length)
            finally:
                opened.close()
            if len(data) != length:
                raise FileShrank()  # truncated since its stat: drop the connection
            return [data]
        return FileBlocks(opened.fd, start, length, self.block_size)


def share_path(roots, raw_path: str, *, folder: bool = False) -> tuple[str, list[str]]:
    """Share and segments of a request path below a property (with ``folder``, a
    trailing slash is allowed), or :class:`Fallthrough` for the share roots and
    anything WsgiDAV would normalise, refuse or answer otherwise."""
    try:
        path = raw_path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise Fallthrough from None
    for share in roots:
        if path.startswith(share + "/"):
            rest = path[len(share) :]
            break
    else:
        raise Fallthrough
    segments = (rest.removesuffix("/") if folder else rest).split("/")[1:]
    # the share rule drops empty segments and refuses unsafe ones: any difference is a
    # trailing slash, a path to normalise or one WsgiDAV answers with 404
    if not segments or split_share_path(rest) != segments:
        raise Fallthrough
    return share, segments


def sign_in(environ, share: str, parts: list[str], readonly: bool):
    """The request's Basic login checked for ``share`` and the property ``parts[0]``
    in one query, as WsgiDAV's domain controller and provider decide it: the
    principal (also put into ``environ``); None when the login fails (answer
    :func:`unauthorized`); :class:`Fallthrough` where WsgiDAV answers 404 (a name
    the share hides, a property the principal may not see)."""
    credentials = basic_credentials(environ.get("HTTP_AUTHORIZATION"))
    principal, sees_property = access.authenticate_for_property(
        "agent" if share == AGENT_SHARE else "contact", *credentials, parts[0]
    )
    if principal is None:
        return None
    environ[PRINCIPAL_KEY] = principal
    hidden = hidden_names(readonly)
    if any(hidden(part) for part in parts[1:]) or not sees_property:
        raise Fallthrough
    return principal


def unauthorized(share: str, start_response):
    """WsgiDAV's answer to failed Basic credentials (``send_basic_auth_response``)."""
    start_response(
        "401 Not Authorized",
        [
            ("WWW-Authenticate", f'Basic realm="{share}"'),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(_UNAUTHORIZED_BODY))),
            ("Date", http_date()),
        ],
    )
    return [_UNAUTHORIZED_BODY]


def basic_credentials(header: str | None) -> tuple[str, str]:
    """User and password of a Basic ``Authorization`` header, read as WsgiDAV's
    authenticator reads it (``gateway.security.basic_credentials``);
    :class:`Fallthrough` for anything else (WsgiDAV answers it: 401 or 400)."""
    try:
        credentials = security.basic_credentials(header)
    except MalformedCredentials:
        raise Fallthrough from None
    if credentials is None:
        raise Fallthrough
    return credentials


def _not_modified(environ, last_modified: int, etag: str) -> bool:
    """WsgiDAV's ``evaluate_http_conditionals`` for If-None-Match and
    If-Modified-Since on GET/HEAD: True for 304; :class:`Fallthrough` for its 412."""
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    modified_since_failed = False
    if since is not None:
        when = util.parse_time_string(since)
        modified_since_failed = bool(when and when > last_modified)
    none_match = environ.get("HTTP_IF_NONE_MATCH")
    if none_match is not None:
        try:
            tokens = util.parse_if_match_header(none_match)
        except DAVError:
            raise Fallthrough from None
        if any(token == etag or token == "*" for token in tokens):
            if modified_since_failed:
                raise Fallthrough  # 412, from WsgiDAV
            return True
        return False
    return modified_since_failed
