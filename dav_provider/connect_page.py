"""The page a browser gets for a share's folder: how to connect it as a network drive.

An agent who opens ``https://HOST/dav/`` in a browser (after the login prompt) used
to get WsgiDAV's 403 "Directory browsing is not enabled". :class:`ConnectPage` sits
in WsgiDAV's middleware stack where its directory browser would (after the
authenticator, before the request resolver) and answers a ``GET``/``HEAD`` of a
folder whose ``Accept`` asks for HTML with the steps of README "Mounting a share as
an agent", for Windows, macOS, Linux (GNOME, KDE, davfs2) and rclone, in German and
English (the preferred language first). It lists no file: the share is for file
managers, and the contacts' page is the only browsing surface. Values from the
request (host, user name) are escaped; nothing else on the page varies.
"""

from __future__ import annotations

import html
import shlex

from wsgidav.mw.base_mw import BaseMiddleware

from dav_provider.error_pages import preferred_language

#: One section per language; ``{url}`` and the like are filled in escaped.
SECTIONS = {
    "de": """<section lang="de">
<h1>Netzlaufwerk verbinden</h1>
<p>Diese Adresse ist ein Netzlaufwerk (WebDAV) für Ihren Dateimanager, keine Webseite.
Angemeldet als <strong>{user}</strong>. Adresse: <code>{url}</code>{readonly_de}</p>
<h2>Windows</h2>
<p>Explorer → „Dieser PC“ → „Netzlaufwerk verbinden“, Ordner <code>{url}</code>.
Windows sendet Passwörter nur über HTTPS. Dateien über 50 MB: den Wert
<code>FileSizeLimitInBytes</code> unter
<code>HKLM\\SYSTEM\\CurrentControlSet\\Services\\WebClient\\Parameters</code>
erhöhen (z. B. <code>4294967295</code>) und den Dienst „WebClient“ neu starten.</p>
<h2>macOS</h2>
<p>Finder → Gehe zu → Mit Server verbinden (⌘K), <code>{url}</code>.</p>
<h2>Linux</h2>
<ul>
<li>GNOME Dateien → Andere Orte → Mit Server verbinden: <code>{gnome}</code></li>
<li>KDE Dolphin, Adresszeile: <code>{kde}</code></li>
<li>davfs2: <code>sudo mount -t davfs {url} /mnt/immoshare</code></li>
</ul>
<h2>rclone</h2>
<p><code>rclone config create immoshare webdav url={url} vendor=other user={shell_user}
pass=$(rclone obscure 'PASSWORT')</code>, dann z. B.
<code>rclone copy immoshare:OBJEKT ./unterlagen</code>.</p>
</section>""",
    "en": """<section lang="en">
<h1>Connect the network drive</h1>
<p>This address is a network drive (WebDAV) for your file manager, not a web page.
Signed in as <strong>{user}</strong>. Address: <code>{url}</code>{readonly_en}</p>
<h2>Windows</h2>
<p>Explorer → "This PC" → "Map network drive", folder <code>{url}</code>.
Windows sends passwords over HTTPS only. Files above 50 MB: raise
<code>FileSizeLimitInBytes</code> under
<code>HKLM\\SYSTEM\\CurrentControlSet\\Services\\WebClient\\Parameters</code>
(e.g. <code>4294967295</code>) and restart the "WebClient" service.</p>
<h2>macOS</h2>
<p>Finder → Go → Connect to Server (⌘K), <code>{url}</code>.</p>
<h2>Linux</h2>
<ul>
<li>GNOME Files → Other Locations → Connect to Server: <code>{gnome}</code></li>
<li>KDE Dolphin, location bar: <code>{kde}</code></li>
<li>davfs2: <code>sudo mount -t davfs {url} /mnt/immoshare</code></li>
</ul>
<h2>rclone</h2>
<p><code>rclone config create immoshare webdav url={url} vendor=other user={shell_user}
pass=$(rclone obscure 'PASSWORD')</code>, then e.g.
<code>rclone copy immoshare:PROPERTY ./documents</code>.</p>
</section>""",
}
READ_ONLY = {
    "de": " Diese Freigabe ist schreibgeschützt.",
    "en": " This share is read-only.",
}
TITLE = "Netzlaufwerk verbinden · Connect the network drive"


def wants_html(environ) -> bool:
    return "text/html" in environ.get("HTTP_ACCEPT", "").lower()


def render(environ) -> bytes:
    """The page for this request's share, user and host."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    share = environ.get("SCRIPT_NAME", "") + "/"
    user = environ.get("wsgidav.auth.user_name", "")
    secure = scheme == "https"
    readonly = bool(environ["wsgidav.provider"].readonly)
    values = {
        "url": f"{scheme}://{host}{share}",
        "gnome": f"{'davs' if secure else 'dav'}://{host}{share}",
        "kde": f"{'webdavs' if secure else 'webdav'}://{host}{share}",
        "user": user,
        "shell_user": shlex.quote(user),
    }
    escaped = {name: html.escape(value) for name, value in values.items()}
    first = preferred_language(environ)
    sections = [
        SECTIONS[language].format(
            **escaped,
            readonly_de=READ_ONLY["de"] if readonly else "",
            readonly_en=READ_ONLY["en"] if readonly else "",
        )
        for language in sorted(SECTIONS, key=lambda language: language != first)
    ]
    page = (
        f'<!doctype html>\n<html lang="{first}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{TITLE}</title>\n</head>\n<body>\n<main>\n"
        + "\n<hr>\n".join(sections)
        + "\n</main>\n</body>\n</html>\n"
    )
    return page.encode()


class ConnectPage(BaseMiddleware):
    """WsgiDAV middleware: see the module docstring."""

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        provider = environ.get("wsgidav.provider")
        if method in ("GET", "HEAD") and provider is not None and wants_html(environ):
            resource = provider.get_resource_inst(environ["PATH_INFO"], environ)
            if resource is not None and resource.is_collection:
                body = render(environ)
                start_response(
                    "200 OK",
                    [
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("Content-Length", str(len(body))),
                        ("Cache-Control", "private, no-store"),
                        ("Vary", "Accept, Accept-Language"),
                    ],
                )
                return [b"" if method == "HEAD" else body]
        return self.next_app(environ, start_response)
