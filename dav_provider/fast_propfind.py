"""A lean path for PROPFIND of depth 0 and 1.

WsgiDAV answers a PROPFIND by building a resource object per member, asking each
about nine properties one by one (``get_property_value``), putting every answer into
one lxml tree of the whole multistatus and serialising that tree at the end. For a
folder of 10,000 files that is most of a second and tens of megabytes held at once.
:class:`FastPropfind` sits below :class:`~dav_provider.fast_get.FastGet` (inside
:class:`~dav_provider.guard.DavGuard`, so the path is UTF-8, the depth finite and
the body at most 1 MiB) and answers the common requests itself:

- the same Basic authentication and grant check as the GET path
  (``access.authenticate_for_property``, WsgiDAV's own 401 for a wrong password);
- the same resources as the provider: ``split_share_path``, hidden names per share,
  ``confine`` (no symbolic link on the way), members from one ``scandir`` filtered
  as ``GatewayFolder._scan`` does (no links, no hard-linked files, no hidden names);
- the same properties with the same values: allprop (also an empty body), or a
  ``<prop>`` list, where anything WsgiDAV does not know is a 404 propstat;
- the same XML, byte for byte: WsgiDAV's hrefs (``quote`` with its safe characters),
  lxml's escaping of text, propstats grouped by status in the order WsgiDAV groups
  them, namespaces of other properties declared per response as ``NS1``, ``NS2``;
- written as text: a response of up to :data:`CHUNK_ENTRIES` resources goes out in
  one piece with ``Content-Length`` as WsgiDAV sends it, a bigger one is streamed in
  chunks of that many resources without a length (cheroot sends it chunked on
  HTTP/1.1 and closes the connection after it on HTTP/1.0).

Anything it cannot answer identically goes to WsgiDAV: ``Depth: infinity`` (refused
by the guard anyway), conditional headers (``If``, ``If-Match``...), the share roots,
``<propname/>`` (WsgiDAV ignores it and answers with bare hrefs) and every body that
is not ``<allprop/>`` or ``<prop>`` lists, bodies that do not parse or carry a
DOCTYPE, a dead property on any resource of the answer, a lock on the resource or
below it when ``lockdiscovery`` is asked for, names XML cannot carry, and every case
that ends in 404.
"""

from __future__ import annotations

import functools
import io
import mimetypes
import os
import posixpath
import re
import shutil
import stat as stat_module
from urllib.parse import quote

from lxml import etree
from wsgidav import util

from dav_provider.fast_get import (
    Fallthrough,
    http_date,
    share_path,
    sign_in,
    unauthorized,
)
from gateway.numbers import whole_number_or_none
from gateway.services import access
from gateway.serving.edge import DATABASE_ERRORS
from gateway.shares import confine, hidden_names, is_served_file, listed_members

#: Resources per chunk of a streamed answer (about 200 kB for allprop of files).
CHUNK_ENTRIES = 256

#: Headers that need WsgiDAV's evaluation against the resource (412, 304, locks).
_CONDITIONAL_HEADERS = (
    "HTTP_IF",
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)

#: ``_DAVResource.get_href``: Nautilus chokes on ``%28``, so these stay as they are.
_HREF_SAFE = "/!*'(),$-_|."
#: The characters of those that ``quote`` escapes by default (in the ref-url).
_KEPT_IN_HREF = re.compile("[!*'(),$|]")

#: Characters lxml refuses in text (or writes as character references): such a name
#: is WsgiDAV's to answer.
_NOT_PLAIN_XML = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_PLAIN_NAMESPACE = re.compile('[\x00-\x20"&<>\ud800-\udfff\ufffe\uffff]')
_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"

_ALLPROP = "{DAV:}allprop"
_PROP = "{DAV:}prop"
_LOCKDISCOVERY = "{DAV:}lockdiscovery"
_GETCONTENTTYPE = "{DAV:}getcontenttype"

_PROLOGUE = "<?xml version='1.0' encoding='UTF-8'?>\n<D:multistatus xmlns:D=\"DAV:\">"
_EPILOGUE = "</D:multistatus>"
_SUPPORTEDLOCK = (
    "<D:supportedlock>"
    "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope>"
    "<D:locktype><D:write/></D:locktype></D:lockentry>"
    "<D:lockentry><D:lockscope><D:shared/></D:lockscope>"
    "<D:locktype><D:write/></D:locktype></D:lockentry>"
    "</D:supportedlock>"
)


class _Resource:
    """What the answer needs of one file or folder, read before its first byte."""

    __slots__ = ("href", "name", "display", "usage", "is_folder", "mtime", "ctime", "size", "ino")

    def __init__(self, href: str, name: str, display: str, info: os.stat_result, usage):
        self.href = href
        self.name = name  # the last path segment: it decides the content type
        self.display = display  # XML-escaped display name
        self.usage = usage  # shutil.disk_usage of a folder, None for a file
        self.is_folder = usage is not None
        # as WsgiDAV reads them from the stat result: whole seconds
        self.mtime = info[stat_module.ST_MTIME]
        self.ctime = info[stat_module.ST_CTIME]
        self.size = info[stat_module.ST_SIZE]
        self.ino = info[stat_module.ST_INO]


def _escape(text: str) -> str:
    """lxml's escaping of element text (other characters were refused before)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@functools.lru_cache(maxsize=1024)
def _creation_date(seconds: int) -> str:
    return util.get_rfc3339_time(seconds)


# ---------------------------------------------------------------- property values
# One function per live property WsgiDAV's resources have: the XML of the property
# for a resource. Which apply to files and which to folders is in _LIVE.


def _resourcetype_folder(res: _Resource) -> str:
    return "<D:resourcetype><D:collection/></D:resourcetype>"


def _resourcetype_file(res: _Resource) -> str:
    return "<D:resourcetype></D:resourcetype>"


def _creationdate(res: _Resource) -> str:
    return f"<D:creationdate>{_creation_date(res.ctime)}</D:creationdate>"


def _getcontentlength(res: _Resource) -> str:
    return f"<D:getcontentlength>{res.size}</D:getcontentlength>"


def _quota_used(res: _Resource) -> str:
    return f"<D:quota-used-bytes>{res.usage.used}</D:quota-used-bytes>"


def _quota_available(res: _Resource) -> str:
    return f"<D:quota-available-bytes>{res.usage.free}</D:quota-available-bytes>"


def _no_quota_used(res: _Resource) -> str:
    # a file has no quota, and WsgiDAV then answers an empty value with 200
    return "<D:quota-used-bytes/>"


def _no_quota_available(res: _Resource) -> str:
    return "<D:quota-available-bytes/>"


def _getlastmodified(res: _Resource) -> str:
    return f"<D:getlastmodified>{http_date(res.mtime)}</D:getlastmodified>"


def _displayname(res: _Resource) -> str:
    return f"<D:displayname>{res.display}</D:displayname>"


def _getetag(res: _Resource) -> str:
    return f"<D:getetag>{res.ino}-{res.mtime}-{res.size}</D:getetag>"


def _lockdiscovery(res: _Resource) -> str:
    return "<D:lockdiscovery/>"  # locks make the request WsgiDAV's


def _supportedlock(res: _Resource) -> str:
    return _SUPPORTEDLOCK


#: name → (value for a folder, value for a file); None where WsgiDAV answers 404.
#: getcontenttype of files is a method of FastPropfind (WsgiDAV's configuration).
_LIVE = {
    "{DAV:}resourcetype": (_resourcetype_folder, _resourcetype_file),
    "{DAV:}creationdate": (_creationdate, _creationdate),
    "{DAV:}getcontentlength": (None, _getcontentlength),
    "{DAV:}quota-used-bytes": (_quota_used, _no_quota_used),
    "{DAV:}quota-available-bytes": (_quota_available, _no_quota_available),
    "{DAV:}getlastmodified": (_getlastmodified, _getlastmodified),
    "{DAV:}displayname": (_displayname, _displayname),
    "{DAV:}getetag": (None, _getetag),
    _LOCKDISCOVERY: (_lockdiscovery, _lockdiscovery),
    "{DAV:}supportedlock": (_supportedlock, _supportedlock),
}

#: ``get_property_names(is_allprop=True)`` of our folders and files, in its order.
_ALLPROP_FOLDER = (
    "{DAV:}resourcetype",
    "{DAV:}creationdate",
    "{DAV:}quota-used-bytes",
    "{DAV:}quota-available-bytes",
    "{DAV:}getlastmodified",
    "{DAV:}displayname",
    _LOCKDISCOVERY,
    "{DAV:}supportedlock",
)
_ALLPROP_FILE = (
    "{DAV:}resourcetype",
    "{DAV:}creationdate",
    "{DAV:}getcontentlength",
    _GETCONTENTTYPE,
    "{DAV:}getlastmodified",
    "{DAV:}displayname",
    "{DAV:}getetag",
    _LOCKDISCOVERY,
    "{DAV:}supportedlock",
)


class FastPropfind:
    """WSGI app: answers PROPFIND of depth 0 and 1 on the shares, hands the rest to
    ``app`` (the WsgiDAV app). See the module docstring."""

    def __init__(self, app):
        self.app = app
        # FastGet, in front of this, reads WsgiDAV's configuration and providers here.
        self.config = app.config
        self.provider_map = app.provider_map
        self.roots = {}
        self.readonly = {}
        for share, provider in app.provider_map.items():
            self.roots[share] = provider.root_folder_path
            self.readonly[share] = bool(provider.readonly)
        self._type_of_extension = functools.lru_cache(maxsize=256)(self._guess_type)

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "PROPFIND":
            return self.app(environ, start_response)
        body = b""
        try:
            body = _read_body(environ)
            return self._serve(environ, start_response, body)
        except Fallthrough:
            pass
        except DATABASE_ERRORS:
            pass  # WsgiDAV's own answer (503 with Retry-After) for an outage
        if body:
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

    # ------------------------------------------------------------------ request

    def _serve(self, environ, start_response, body: bytes):
        get = environ.get
        depth = get("HTTP_DEPTH")
        if depth != "0" and depth != "1":
            raise Fallthrough
        for name in _CONDITIONAL_HEADERS:
            if name in environ:
                raise Fallthrough
        share, parts = share_path(self.roots, get("PATH_INFO", ""), folder=True)
        names = _requested_names(body)
        if sign_in(environ, share, parts, self.readonly[share]) is None:
            return unauthorized(share, start_response)
        hidden = hidden_names(self.readonly[share])
        provider = self.provider_map[share]
        locks, properties = provider.lock_manager, provider.prop_manager
        if locks is None:
            raise Fallthrough
        target, file_path, ref = self._target(share, parts)
        listing = depth == "1" and target.is_folder
        if properties is not None and properties.get_properties(ref, environ):
            raise Fallthrough  # dead properties: WsgiDAV lists them
        if names is None or _LOCKDISCOVERY in names:
            if locks.get_url_lock_list(ref, recursive=listing):
                raise Fallthrough  # WsgiDAV describes the locks
        resources = [target]
        if listing:
            resources += self._members(target, file_path, ref, hidden, properties, environ)

        prefixes = {} if names is None else _prefixes(names)
        plans = (
            self._plan(names, prefixes, folder=True),
            self._plan(names, prefixes, folder=False),
        )
        namespaces = "".join(f' xmlns:{prefix}="{ns}"' for ns, prefix in prefixes.items())
        headers = [("Content-Type", "application/xml; charset=utf-8"), ("Date", http_date())]
        if len(resources) <= CHUNK_ENTRIES:
            document = b"".join(_document(resources, plans, namespaces))
            start_response("207 Multi-Status", [*headers, ("Content-Length", str(len(document)))])
            return [document]
        start_response("207 Multi-Status", headers)
        return _document(resources, plans, namespaces)

    # ---------------------------------------------------------------- resources

    def _target(self, share: str, parts: list[str]) -> tuple[_Resource, str, str]:
        """The resource asked for as the provider's ``get_resource_inst`` makes it,
        its file path and WsgiDAV's ref-url of it (the key of locks and dead
        properties); :class:`Fallthrough` where WsgiDAV answers 404."""
        file_path = confine(self.roots[share], parts)
        if file_path is None:
            raise Fallthrough
        try:
            info = os.stat(file_path)
        except OSError:
            raise Fallthrough from None
        path = "/" + "/".join(parts)
        usage = None
        if stat_module.S_ISDIR(info.st_mode):
            path += "/"
            try:
                usage = shutil.disk_usage(file_path)
            except OSError:
                raise Fallthrough from None
        elif len(parts) == 1 or not is_served_file(info):
            raise Fallthrough  # a hard link, or something else: 404
        if len(parts) == 1:  # a property folder shows the property's title
            display = access.property_titles({parts[0]}).get(parts[0]) or parts[0]
        else:
            display = parts[-1]
        if _NOT_PLAIN_XML.search(display):
            raise Fallthrough
        href = quote(share + path, safe=_HREF_SAFE)
        target = _Resource(href, parts[-1], _escape(display), info, usage)
        return target, file_path, quote(share + path)

    def _members(self, folder, file_path, ref, hidden, properties, environ) -> list[_Resource]:
        """The folder's members as ``GatewayFolder._scan`` sees them
        (``listed_members``); :class:`Fallthrough` if one of them has a dead
        property or a name XML cannot carry."""
        members = []
        for entry, info in listed_members(file_path, hidden):
            name = entry.name
            if stat_module.S_ISDIR(info.st_mode):
                try:
                    usage = shutil.disk_usage(entry.path)
                except OSError:
                    continue  # removed meanwhile
                tail = "/"
            else:
                usage = None
                tail = ""
            if _NOT_PLAIN_XML.search(name):
                raise Fallthrough
            quoted = quote(name)
            if properties is not None and properties.get_properties(ref + quoted + tail, environ):
                raise Fallthrough
            if _KEPT_IN_HREF.search(name):
                quoted = quote(name, safe=_HREF_SAFE)
            members.append(_Resource(folder.href + quoted + tail, name, _escape(name), info, usage))
        return members

    # --------------------------------------------------------------- properties

    def _plan(self, names, prefixes, *, folder: bool):
        """The propstats of every folder (or file) of this answer: (status, value
        functions) in WsgiDAV's order, for ``names`` or allprop (None)."""
        if names is None:
            names = _ALLPROP_FOLDER if folder else _ALLPROP_FILE
        groups = {}
        for name in names:
            if name == _GETCONTENTTYPE:
                value = None if folder else self._getcontenttype
            else:
                value = _LIVE.get(name, (None, None))[0 if folder else 1]
            if value is None:
                groups.setdefault("404 Not Found", []).append(_empty_element(name, prefixes))
            else:
                groups.setdefault("200 OK", []).append(value)
        return [(f"HTTP/1.1 {status}", values) for status, values in groups.items()]

    def _getcontenttype(self, res: _Resource) -> str:
        return f"<D:getcontenttype>{self._content_type(res.name)}</D:getcontenttype>"

    def _content_type(self, name: str) -> str:
        """``util.guess_mime_type`` of the file's path, which only looks at the
        name's extensions; remembered per last extension where that one decides."""
        dot = name.rfind(".")
        if name[0] == ".":  # a leading dot starts no extension: splitext knows
            extension = posixpath.splitext(name)[1]
        else:
            extension = name[dot:] if dot > 0 else ""
        return self._type_of_extension(extension) or _escape(
            util.guess_mime_type("/" + name, self.config)
        )

    def _guess_type(self, extension: str) -> str | None:
        """The content type of every name with this last extension; None for the
        suffixes ``mimetypes`` maps on and looks further back for (``.gz``, ``.tgz``)."""
        if extension.lower() in mimetypes.suffix_map or extension in mimetypes.encodings_map:
            return None
        return _escape(util.guess_mime_type("/x" + extension, self.config))


def _document(resources, plans, namespaces: str):
    """The multistatus, in chunks of :data:`CHUNK_ENTRIES` resources."""
    folder_plan, file_plan = plans
    chunk = [_PROLOGUE]
    for index, res in enumerate(resources, 1):
        chunk.append(f"<D:response{namespaces}><D:href>{res.href}</D:href>")
        for status, values in folder_plan if res.is_folder else file_plan:
            chunk.append("<D:propstat><D:prop>")
            chunk += [value(res) for value in values]
            chunk.append(f"</D:prop><D:status>{status}</D:status></D:propstat>")
        chunk.append("</D:response>")
        if index % CHUNK_ENTRIES == 0:
            yield "".join(chunk).encode()
            chunk = []
    chunk.append(_EPILOGUE)
    yield "".join(chunk).encode()


def _empty_element(name: str, prefixes: dict[str, str]):
    """The value function of a property WsgiDAV answers 404 for: an empty element,
    with the prefix lxml gives its namespace."""
    namespace, local = util.split_namespace(name)
    if namespace == "DAV:":
        element = f"<D:{local}/>"
    elif namespace:
        element = f"<{prefixes[namespace]}:{local}/>"
    else:
        element = f"<{local}/>"
    return lambda res: element


def _read_body(environ) -> bytes:
    """The request body as WsgiDAV's ``parse_xml_body`` reads it (the guard has
    limited its size); :class:`Fallthrough` for lengths WsgiDAV refuses."""
    if "HTTP_TRANSFER_ENCODING" in environ:
        raise Fallthrough  # not chunked (the guard turned that into a length)
    length = environ.get("CONTENT_LENGTH", "").strip()
    if not length:
        return b""
    count = whole_number_or_none(length)
    if count is None:
        raise Fallthrough
    return environ["wsgi.input"].read(count)


def _requested_names(body: bytes) -> list[str] | None:
    """None for allprop (an empty body or ``<allprop/>``), else the property names
    of the ``<prop>`` elements in order; :class:`Fallthrough` for anything else."""
    if not body:
        return None
    try:
        root = etree.XML(body, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        raise Fallthrough from None
    if root.tag != "{DAV:}propfind" or root.getroottree().docinfo.doctype:
        raise Fallthrough
    children = list(root)
    if len(children) == 1 and children[0].tag == _ALLPROP:
        return None
    if not children or any(child.tag != _PROP for child in children):
        raise Fallthrough  # propname, include, a mix: WsgiDAV decides
    names = []
    for prop in children:
        for element in prop:
            if not isinstance(element.tag, str):
                raise Fallthrough  # a comment or processing instruction
            namespace = element.tag[1:].partition("}")[0] if element.tag[0] == "{" else ""
            if namespace == _XML_NAMESPACE or _NOT_PLAIN_NAMESPACE.search(namespace):
                raise Fallthrough
            names.append(element.tag)
    return names


def _prefixes(names: list[str]) -> dict[str, str]:
    """Namespace → prefix, as WsgiDAV's ``add_property_response`` declares them on
    each response: ``NS1``, ``NS2``... in the order of the names, DAV: is ``D``."""
    prefixes = {}
    for name in names:
        namespace, _ = util.split_namespace(name)
        if namespace not in ("DAV:", "") and namespace not in prefixes:
            prefixes[namespace] = f"NS{len(prefixes) + 1}"
    return prefixes
