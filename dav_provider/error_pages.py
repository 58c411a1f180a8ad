"""Our words for every WebDAV answer of 400 and above (and WsgiDAV's pages of
successful writes), in German or English.

WsgiDAV's error pages are English HTML that name the engine and its version, repeat
the exception text (with it, once, the decoded credentials of a broken
``Authorization`` header) and give configuration advice meant for its
administrator; agents see them in Explorer's dialogs, contacts in their browser.
:class:`DavErrorPages` wraps the WebDAV side from outside (around
:class:`~dav_provider.guard.DavGuard`, so the guard's own refusals, both lean paths,
the authenticator and WsgiDAV all pass it) and gives each such answer a short
plain-text body of its own: the language by ``Accept-Language`` (German unless
English is preferred), the status and one sentence, nothing of the request.

The bodies RFC 4918 defines stay as they are: an ``application/xml`` error body is a
``<D:error>`` precondition (``propfind-finite-depth``, ``no-conflicting-lock``,
``lock-token-submitted``...) that clients read. Every other header is kept
(``WWW-Authenticate``, ``Retry-After``, ``Allow``, ``Content-Range`` of a 416).
WsgiDAV also answers a successful ``PUT``, ``MKCOL``, ``COPY`` or ``MOVE`` with an HTML
page naming itself ("201 Created"): an HTML body on any method but ``GET`` and
``HEAD`` is such a page and gets ours too. ``GET`` and ``HEAD`` below 400 are files
and the connect page (``dav_provider.connect_page``), and pass untouched.
"""

from __future__ import annotations

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

LANGUAGES = ("de", "en")

#: status code → (German, English): what happened, in the user's terms.
MESSAGES = {
    200: ("Erledigt.", "Done."),
    201: ("Angelegt.", "Created."),
    400: (
        "Ungültige Anfrage: sie wurde nicht ausgeführt.",
        "Bad request: it was not carried out.",
    ),
    401: (
        "Anmeldung erforderlich: bitte mit Benutzername und Passwort verbinden.",
        "Sign-in required: connect with your user name and password.",
    ),
    403: ("Das ist hier nicht erlaubt.", "This is not allowed here."),
    404: (
        "Nicht gefunden: diese Datei oder dieser Ordner existiert nicht (mehr).",
        "Not found: this file or folder does not exist (any more).",
    ),
    405: (
        "Diese Aktion ist hier nicht möglich.",
        "This action is not possible here.",
    ),
    409: (
        "Konflikt: der übergeordnete Ordner fehlt oder das Ziel ist belegt.",
        "Conflict: the parent folder is missing or the target is taken.",
    ),
    412: (
        "Die Datei hat sich inzwischen geändert oder ist gesperrt; bitte neu laden.",
        "The file has changed meanwhile or is locked; please reload.",
    ),
    413: ("Die Anfrage ist zu groß.", "The request is too large."),
    415: (
        "Dieses Format wird hier nicht angenommen.",
        "This format is not accepted here.",
    ),
    416: (
        "Der angefragte Bereich liegt außerhalb der Datei.",
        "The requested range lies outside the file.",
    ),
    423: (
        "Die Datei ist gesperrt, weil sie gerade bearbeitet wird.",
        "The file is locked because it is being edited.",
    ),
    424: (
        "Nicht ausgeführt, weil ein anderer Teil der Anfrage fehlschlug.",
        "Not carried out because another part of the request failed.",
    ),
    502: (
        "Das Ziel liegt auf einem anderen Server oder in einer anderen Freigabe.",
        "The destination is on another server or in another share.",
    ),
    503: (
        "Vorübergehend nicht verfügbar. Bitte gleich erneut versuchen.",
        "Temporarily unavailable; please retry shortly.",
    ),
    507: (
        "Nicht genug Speicherplatz auf dem Server.",
        "Not enough storage space on the server.",
    ),
}
CLIENT_ERROR = ("Die Anfrage wurde nicht ausgeführt.", "The request was not carried out.")
SERVER_ERROR = (
    "Interner Fehler. Bitte später erneut versuchen.",
    "Internal error; please try again later.",
)

#: Headers that describe the body being replaced.
_BODY_HEADERS = ("content-type", "content-length", "content-language")


def preferred_language(environ) -> str:
    """``de`` or ``en`` by the request's ``Accept-Language``; German by default."""
    accepted = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE", ""), LanguageAccept)
    return accepted.best_match(LANGUAGES, default=LANGUAGES[0])


def status_body(code: int, reason: str, language: str) -> bytes:
    """The plain-text body of an answer with status ``code``."""
    fallback = SERVER_ERROR if code >= 500 else CLIENT_ERROR if code >= 400 else MESSAGES[200]
    sentence = MESSAGES.get(code, fallback)[LANGUAGES.index(language)]
    return f"{code} {reason}\n\n{sentence}\n".encode()


def _media_type(headers) -> str:
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def _is_status_page(method: str, code: int, headers) -> bool:
    """True for an answer whose body is to be ours (see the module docstring)."""
    media_type = _media_type(headers)
    if code >= 400:
        return media_type not in ("application/xml", "text/xml")
    if method in ("GET", "HEAD") or media_type != "text/html":
        return False
    length = next((v for n, v in headers if n.lower() == "content-length"), "")
    return length.strip() not in ("", "0")  # OPTIONS and the like: no body


class DavErrorPages:
    """WSGI wrapper: see the module docstring. Answers below 400 pass untouched,
    the body object included (a file keeps going out by ``sendfile``)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = []

        def capture(status, headers, exc_info=None):
            started[:] = [status, headers, exc_info]
            return _no_write

        result = self.app(environ, capture)
        if not started:
            # WsgiDAV starts its answer with the first chunk (a generator)
            result = _Primed(result)
        if not started:
            _close(result)
            raise RuntimeError("the WebDAV app ended without starting an answer")
        status, headers, exc_info = started
        method = environ.get("REQUEST_METHOD", "GET")
        if not _is_status_page(method, int(status[:3]), headers):
            start_response(status, headers, exc_info)
            return result
        _close(result)
        language = preferred_language(environ)
        body = status_body(int(status[:3]), status[4:].strip(), language)
        headers = [(n, v) for n, v in headers if n.lower() not in _BODY_HEADERS]
        headers += [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Content-Language", language),
            ("Vary", "Accept-Language"),
        ]
        start_response(status, headers, exc_info)
        return [b"" if method == "HEAD" else body]


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the WebDAV side answers with iterables only")


def _close(result) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


class _Primed:
    """A body whose first chunk was taken (which made the app start its answer),
    given out again first."""

    def __init__(self, result):
        self._result = result
        self._iterator = iter(result)
        try:
            self._first = [next(self._iterator)]
        except StopIteration:
            self._first = []
        except BaseException:
            _close(result)
            raise

    def __iter__(self):
        yield from self._first
        self._first = []
        yield from self._iterator

    def close(self) -> None:
        _close(self._result)
