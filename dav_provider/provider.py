"""Map share paths to resources. Two instances run: ``/dav`` (agents, read-write) and
``/view`` (contacts, read-only), over the same ``properties/`` folder.

Layout of a share::

    /                 SharesRoot: the properties this user may see
    /<key>/           PropertyFolder (never deleted or moved over DAV)
    /<key>/a/b.pdf    GatewayFolder / GatewayFile

A property the user may not see does not exist (404, never 403).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.fs_dav_provider import FilesystemProvider

from dav_provider.resources import (
    GatewayFile,
    GatewayFolder,
    NoticeFile,
    PropertyFolder,
    SharesRoot,
    refuse_protected,
)
from gateway.services import access, served_versions
from gateway.services.access_notice import NOTICE_NAME, no_access_notice
from gateway.services.trash import TrashBin
from gateway.shares import (
    confine,
    hidden_names,
    is_multi_linked,
    is_served_file,
    split_share_path,
)

PRINCIPAL_KEY = "immoshare.principal"
_VISIBLE_KEY = "immoshare.visible"  # per-request memo of the visible properties


class GatewayProvider(FilesystemProvider):
    """Property shares for agents (``readonly=False``) or contacts (``readonly=True``)."""

    def __init__(self, root_folder, *, trash_dir, readonly=False, max_upload_bytes=2 * 1024**3):
        super().__init__(root_folder, readonly=readonly, fs_opts={"follow_symlinks": False})
        self.max_upload_bytes = max_upload_bytes
        self.trash = TrashBin(root=Path(trash_dir), properties_dir=Path(self.root_folder_path))

    def is_readonly(self):
        # WsgiDAV 4.4 does not derive this from ``readonly``; without it a contact's share
        # would advertise DAV class 2 and accept LOCK.
        return self.readonly

    def visible_keys(self, environ) -> dict[str, str]:
        """Key → title of the properties the request's principal may see, whose folder
        exists. Read from the database once per request: revocation acts at once."""
        memo = environ.get(_VISIBLE_KEY)
        if memo is None:
            principal = environ.get(PRINCIPAL_KEY)
            memo = {}
            if principal is not None:
                keys = access.visible_property_keys(principal)
                titles = access.property_titles(keys)
                for key in keys:
                    if os.path.isdir(os.path.join(self.root_folder_path, key)):
                        memo[key] = titles.get(key, key)
            environ[_VISIBLE_KEY] = memo
        return memo

    def notice_for(self, environ) -> str | None:
        """The notice text of a contact who sees no property; None for agents and for
        contacts who see one (``gateway.services.access_notice``)."""
        principal = environ.get(PRINCIPAL_KEY)
        if not self.readonly or principal is None or principal.is_agent:
            return None
        if self.visible_keys(environ):
            return None
        return no_access_notice(principal.contact_id)

    def get_resource_inst(self, path, environ):
        if path is None:
            # WsgiDAV asks for the parent of "/" only to write the share root itself:
            # DELETE, MOVE or COPY of "/" or onto it, MKCOL or PUT there.
            refuse_protected()
        parts = split_share_path(path)
        if parts is None:
            return None
        if not parts:
            return SharesRoot("/", environ)
        key = parts[0]
        visible = self.visible_keys(environ)
        if key not in visible:
            if parts == [NOTICE_NAME] and (text := self.notice_for(environ)) is not None:
                return NoticeFile("/" + NOTICE_NAME, environ, text)
            return None
        hidden = hidden_names(self.readonly)
        if any(hidden(part) for part in parts[1:]):
            return None
        file_path = confine(self.root_folder_path, parts)
        if file_path is None:
            return None
        try:
            info = os.lstat(file_path)  # confined: no symbolic link on the way
        except OSError:
            return None
        share_path = "/" + "/".join(parts)
        if len(parts) == 1:
            return PropertyFolder(share_path, environ, file_path, visible[key])
        if stat.S_ISDIR(info.st_mode):
            return GatewayFolder(share_path, environ, file_path)
        if not is_served_file(info):
            return None  # not a regular file, or a hard link (maybe to a file outside)
        return GatewayFile(share_path, environ, file_path, key)

    def _loc_to_file_path(self, path, environ=None):
        """Where COPY, MOVE, MKCOL and PUT may write: inside a visible property only.

        WsgiDAV's own version confines to ``properties/``, which would let a MOVE
        create new top-level folders or files beside the properties.
        """
        parts = split_share_path(path)
        if not parts or environ is None or parts[0] not in self.visible_keys(environ):
            raise DAVError(HTTP_FORBIDDEN, "outside the property folders")
        file_path = confine(self.root_folder_path, parts)
        if file_path is None or is_multi_linked(file_path):
            # opening a hard link for writing would write into the file it shares
            raise DAVError(HTTP_FORBIDDEN, "outside the property folder")
        if len(parts) > 1:  # a COPY or MOVE may replace what is there
            served_versions.before_change(parts[0], "/".join(parts[1:]))
        return file_path
