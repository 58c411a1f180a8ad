"""The contact page ``/s/TOKEN`` and the agent's preview ``/p/TOKEN``.

Deep URLs (the same under ``/p/``)::

    /s/TOKEN/                     the share's top folder (or the consent form first)
    /s/TOKEN/browse/FOLDER        a folder
    /s/TOKEN/open/FILE            a file shown inline (PDF, images, text)
    /s/TOKEN/download/FILE        a file as an attachment
    /s/TOKEN/thumb/FILE           a tile's thumbnail
    /s/TOKEN/zip?dir=FOLDER&q=Q   every entry shown on that page, as one zip
    /s/TOKEN/consent              POST: the consent form

Unknown, revoked and expired tokens get the same 404 page; so does any path that is
hidden or outside the property. The preview shows the same page without download
controls, answers 403 to every file and zip URL, and records nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import NamedTuple
from urllib.parse import quote

from markupsafe import Markup
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from gateway.services import (
    access,
    catalog,
    consent,
    served_versions,
    thumbnails,
    tracking,
    web_events,
)
from gateway.services.properties import storage_folder
from gateway.serving.delivery import tracked_body
from webui import tree as tree_module
from webui.consent_form import confirmation_address, preview_needs_gate, show_form
from webui.context import page_context, query_link, remember_choices, view_choice
from webui.files import content_disposition, inline_type, send_file
from webui.i18n import Translator
from webui.static import static_url
from webui.tree import FILE, FOLDER, ShareTree
from webui.viewer import Viewer, load_viewer, visitor
from webui.zipping import ZipDownload, plan

MAX_QUERY_CHARS = 200
PARTIAL_HEADER = "X-Immoshare-Partial"  # live search fetches only re-render the results
THUMBNAIL_RETRY_AFTER = 5  # seconds; a tile's thumbnail that is not made in time


def _tree(app, viewer: Viewer) -> ShareTree:
    return ShareTree(str(storage_folder(app.config, viewer.property.key)))


def _gate(app, request: Request, prefix: str, token: str, *, file_url: bool) -> Viewer | Response:
    """The viewer, or the response that ends the request: 404 for a bad link, 403 for
    the preview's file URLs, a redirect to the consent form before consent."""
    viewer = load_viewer(app, request, prefix, token)
    if viewer is None:
        return app.not_found(request)
    if file_url and viewer.is_preview:
        return forbidden(app, request)
    if viewer.grant is not None and consent.needs_consent(viewer.grant):
        return redirect(viewer.url(""), 303)
    if preview_needs_gate(request, viewer):
        return redirect(viewer.url(""), 303)
    return viewer


def forbidden(app, request: Request) -> Response:
    return app.render("errors/403.html", status=403, **page_context(app, request))


@dataclasses.dataclass
class View:
    """The entries one page shows, as asked for by its query parameters."""

    folder: str  # share path of the folder shown; "" at the top
    parts: list[str]
    query: str
    sort: str
    descending: bool
    shown: list[tree_module.Entry]
    everything: list[tree_module.Entry]

    @property
    def files(self) -> list[tree_module.Entry]:
        """The files a zip of this page holds: folders expanded."""
        return tree_module.expand(self.shown, self.everything)

    @property
    def zip_base(self) -> str:
        """Members are named relative to the folder; search results keep share paths."""
        return "" if self.query else self.folder


def build_view(share: ShareTree, request: Request, folder: str) -> View | None:
    located = share.locate(folder, FOLDER)
    if located is None:
        return None
    _, parts = located
    folder = "/".join(parts)
    query = request.args.get("q", "").strip()[:MAX_QUERY_CHARS]
    sort = request.args.get("sort") if request.args.get("sort") in tree_module.SORT_KEYS else "name"
    descending = request.args.get("order") == "desc"
    if query:
        everything = share.walk([])
        shown = tree_module.search(everything, query)
    else:
        everything = share.walk(parts)
        shown = tree_module.children(everything, folder)
    shown = tree_module.sort_entries(shown, sort, descending)
    return View(folder, parts, query, sort, descending, shown, everything)


class Row(NamedTuple):
    """One entry as the page shows it. Worked out here rather than in the template:
    there, these calls took most of a 2,000-file page's time."""

    entry: tree_module.Entry
    is_folder: bool
    open_url: str  # "" unless the browser shows the file (never from the preview)
    thumb_url: str  # "" without a thumbnail
    download_url: str
    icon: str  # URL of the entry's icon: a folder or the file's type
    meta: str  # a file's size and date


def _rows(entries: list[tree_module.Entry], viewer: Viewer, lang: str) -> list[Row]:
    base, preview = viewer.base, viewer.is_preview
    return [_folder_row(e) if e.is_folder else _file_row(e, base, preview, lang) for e in entries]


def _folder_row(entry: tree_module.Entry) -> Row:
    return Row(entry, True, "", "", "", _icon_url("folder"), "")


# File types by their icon in ``webui/static/icons/`` (anything else: ``file.svg``).
FILE_TYPES = {
    "pdf": ("pdf",),
    "image": ("jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "tif", "tiff", "bmp"),
    "doc": ("doc", "docx", "odt", "rtf", "pages"),
    "sheet": ("xls", "xlsx", "ods", "csv", "numbers"),
    "slides": ("ppt", "pptx", "odp", "key"),
    "archive": ("zip", "7z", "rar", "gz", "tgz", "tar"),
    "text": ("txt", "md", "log"),
}
ICON_OF_EXTENSION = {ext: icon for icon, exts in FILE_TYPES.items() for ext in exts}


@functools.cache
def _icon_url(icon: str) -> str:
    return static_url(f"icons/{icon}.svg")


def icon_for(name: str) -> str:
    """The URL of the icon of a file named ``name``, by its extension."""
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    icon = ICON_OF_EXTENSION.get(extension)
    return _icon_url(icon) if icon else static_url("file.svg")


def _file_row(entry: tree_module.Entry, base: str, preview: bool, lang: str) -> Row:
    """URLs as ``Viewer.url(ACTION, path)`` makes them, for three actions at the cost
    of one quote."""
    name = entry.name
    path = quote(entry.path, safe="/")
    can_open = not preview and inline_type(name) is not None
    return Row(
        entry,
        False,
        f"{base}/open/{path}" if can_open else "",
        f"{base}/thumb/{path}" if thumbnails.has_thumbnail(name) else "",
        f"{base}/download/{path}",
        icon_for(name),
        _size_and_date(lang, entry.size, entry.mtime),
    )


@functools.lru_cache(maxsize=16384)  # pure; a page repeats its files' sizes and dates
def _size_and_date(lang: str, size: int, mtime: float) -> str:
    words = Translator(lang)
    return f"{words.size(size)} · {words.date(mtime)}"


def _entries_html(app, viewer: Viewer, view: View, rows: list[Row], keep: dict, t) -> Markup:
    """The list's items, rendered apart from the page: inside it, every piece of them
    went up through four template levels."""
    html = app.templates.get_template("share/_entries.html").render(
        rows=rows, viewer=viewer, view=view, keep=keep, t=t
    )
    return Markup(html)


def _sort_links(request: Request, view: View) -> dict[str, str]:
    """A second click on the active sort reverses it."""
    links = {}
    for key in tree_module.SORT_KEYS:
        order = "desc" if key == view.sort and not view.descending else "asc"
        links[key] = query_link(request, sort=key, order=order, view=None, lang=None)
    return links


def page(app, request: Request, prefix: str, token: str, folder: str = "") -> Response:
    viewer = load_viewer(app, request, prefix, token)
    if viewer is None:
        return app.not_found(request)
    if viewer.grant is not None and consent.needs_consent(viewer.grant):
        return show_form(app, request, viewer)
    if preview_needs_gate(request, viewer):
        return show_form(app, request, viewer)
    view = build_view(_tree(app, viewer), request, folder)
    if view is None:
        return app.not_found(request)
    partial = request.headers.get(PARTIAL_HEADER) == "1"
    if viewer.grant is not None and request.method == "GET" and not partial:
        web_events.record(visitor(app, request, viewer.grant), "list", view.folder, status=200)
    files = view.files
    keep = {
        "sort": view.sort if view.sort != "name" else None,
        "order": "desc" if view.descending else None,
    }
    context = page_context(app, request)
    rows = _rows(view.shown, viewer, context["lang"])
    response = app.render(
        "share/page.html",
        viewer=viewer,
        view=view,
        title=viewer.property.title,
        expires=viewer.grant.expires if viewer.grant is not None else None,
        rows=rows,
        entries_html=_entries_html(app, viewer, view, rows, keep, context["t"]),
        view_mode=view_choice(request),
        sort_links=_sort_links(request, view),
        zip_url=viewer.url("zip", dir=view.zip_base, q=view.query),
        zip_size=sum(f.size for f in files),
        zip_count=len(files),
        keep=keep,
        crumbs=[(part, "/".join(view.parts[: i + 1])) for i, part in enumerate(view.parts)],
        confirmation_to=confirmation_address(request, viewer),
        **context,
    )
    return remember_choices(request, response)


def _still_allowed(viewer: Viewer):
    """Asked while a contact's file or zip streams: a revoke or expiry cuts it."""

    if viewer.grant is None:
        return None
    return functools.partial(access.link_is_live, viewer.token)


def _file(app, request: Request, prefix: str, token: str, path: str, *, inline: bool) -> Response:
    viewer = _gate(app, request, prefix, token, file_url=True)
    if isinstance(viewer, Response):
        return viewer
    located = _tree(app, viewer).locate(path, FILE)
    if located is None:
        return app.not_found(request)
    absolute, parts = located
    name = parts[-1]
    inline = inline and inline_type(name) is not None
    handle = open(absolute, "rb", buffering=0)  # noqa: SIM115 - closed with the response
    response = send_file(request, handle, name, inline=inline, block_size=app.config.block_size)
    if request.method == "GET" and response.status_code in (200, 206):
        # The event (with the version's hash) exists before the first byte, and is
        # journaled then, so a download survives even a killed server.
        info = os.fstat(handle.fileno())
        who = visitor(app, request, viewer.grant)
        path = "/".join(parts)
        event = web_events.new_event(
            who,
            "open" if inline else "download",
            path,
            status=response.status_code,
            size=info.st_size,
            sha256=catalog.file_version(app.config, who.property, path, info),
        )
        if response.status_code == 206:  # one range; werkzeug refuses several with 416
            event.range_start = response.content_range.start
        response.response = tracked_body(
            response.response, event, still_allowed=_still_allowed(viewer)
        )
    return response


def open_file(app, request: Request, prefix: str, token: str, path: str) -> Response:
    return _file(app, request, prefix, token, path, inline=True)


def download_file(app, request: Request, prefix: str, token: str, path: str) -> Response:
    return _file(app, request, prefix, token, path, inline=False)


def refuse_file(app, request: Request, prefix: str, token: str, **ignored) -> Response:
    """Any other file-like URL: 404 for contacts, 403 in the preview."""
    viewer = load_viewer(app, request, prefix, token)
    if viewer is not None and viewer.is_preview:
        return forbidden(app, request)
    return app.not_found(request)


def thumbnail(app, request: Request, prefix: str, token: str, path: str) -> Response:
    viewer = _gate(app, request, prefix, token, file_url=False)
    if isinstance(viewer, Response):
        return viewer
    located = _tree(app, viewer).locate(path, FILE)
    if located is None or not thumbnails.has_thumbnail(located[1][-1]):
        return app.not_found(request)
    try:
        image = thumbnails.thumbnail(app.config, located[0], os.stat(located[0]))
    except thumbnails.ThumbnailBusy:
        return Response("busy", status=503, headers={"Retry-After": str(THUMBNAIL_RETRY_AFTER)})
    if image is None:  # not a readable image or PDF, or too big: the file type's icon
        return redirect(icon_for(located[1][-1]), 302)
    return Response(image.read_bytes(), content_type="image/jpeg")


_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def zip_name(viewer: Viewer, view: View) -> str:
    base = view.parts[-1] if view.parts and not view.query else viewer.property.title
    return (_UNSAFE_IN_NAME.sub(" ", base).strip(" .") or viewer.property.key)[:150] + ".zip"


def _record_members(app, who, download: ZipDownload):
    """The zip's settle hook: one ``download`` per member that started, each with its
    own bytes and completeness, after the ``zip`` event itself."""

    def record(sent: int, exhausted: bool) -> None:
        for member in download.members:
            if not member.started:
                continue
            path = member.entry.path
            event = web_events.new_event(
                who,
                "download",
                path,
                status=200,
                size=member.size,
                sha256=member.sha256
                or catalog.file_version(app.config, who.property, path, member.stat),
            )
            tracking.settle_transfer(event, member.sent, exhausted=member.complete)
            tracking.record_event(event)

    return record


def zip_all(app, request: Request, prefix: str, token: str) -> Response:
    viewer = _gate(app, request, prefix, token, file_url=True)
    if isinstance(viewer, Response):
        return viewer
    share = _tree(app, viewer)
    view = build_view(share, request, request.args.get("dir", ""))
    if view is None:
        return app.not_found(request)
    members = plan(view.files, view.zip_base, lambda path: (share.locate(path, FILE) or (None,))[0])
    if not members:  # a page, not an empty file; not 404, which counts as a bad link
        back = viewer.url("browse", view.folder) if view.folder else viewer.url("")
        return app.render(
            "share/empty_zip.html", status=422, back=back, **page_context(app, request)
        )
    key = viewer.property.key
    download = ZipDownload(
        members,
        app.config.block_size,
        functools.partial(catalog.known_crc32, app.config, key),
        before_send=lambda member: served_versions.keep(
            key, member.entry.path, member.sha256, member.stat
        ),
    )
    total = len(download)
    if request.method == "HEAD":
        download.close()
        body = []
    else:
        who = visitor(app, request, viewer.grant)
        body = tracked_body(
            download,
            web_events.new_event(who, "zip", view.folder, status=200, size=total),
            settle=_record_members(app, who, download),
            still_allowed=_still_allowed(viewer),
        )
    response = Response(body, mimetype="application/zip", direct_passthrough=True)
    response.content_length = total
    value, options = content_disposition("attachment", zip_name(viewer, view))
    response.headers.set("Content-Disposition", value, **options)
    return response
