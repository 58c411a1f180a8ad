"""The resources of a share: the root of property folders, property folders, folders, files.

Contacts' shares are read-only (the provider says so, and every write raises 403);
uploads go to a hidden temporary file that replaces its target only when complete.

The share root and the property folders are protected: DELETE, MOVE and COPY of them,
or onto them, are refused in WsgiDAV's ``handle_delete``/``handle_move``/``handle_copy``
hooks, which run before WsgiDAV walks a tree member by member (it deletes the members
first and asks the folder itself last). An agent's DELETE inside a property moves the
file or folder to the trash (``gateway.services.trash``); overwriting keeps nothing,
except the versions served to contacts (``gateway.services.served_versions``), which
every change of a file here lets finish keeping first.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import secrets
import stat

from wsgidav import util
from wsgidav.dav_error import (
    HTTP_FORBIDDEN,
    HTTP_INSUFFICIENT_STORAGE,
    HTTP_NOT_FOUND,
    HTTP_REQUEST_ENTITY_TOO_LARGE,
    DAVError,
)
from wsgidav.dav_provider import DAVCollection, DAVNonCollection
from wsgidav.fs_dav_provider import FileResource, FolderResource
from wsgidav.util import join_uri

from gateway.errors import NotFound
from gateway.services import served_versions, trash
from gateway.services.access_notice import NOTICE_NAME
from gateway.shares import (
    UPLOAD_PREFIX,
    hidden_names,
    is_os_junk,
    is_upload_temp,
    listed_members,
    split_share_path,
)

ACCESS_KEY = "immoshare.access"  # the mutable tracking record put into environ

#: Why deleting, moving or overwriting the share root or a property folder is refused;
#: properties are added and removed by the admin (``immoshare property``).
PROTECTED = "Objektordner sind geschützt / property folders are protected"


def refuse_protected():
    raise DAVError(HTTP_FORBIDDEN, PROTECTED)


def _refuse_onto_protected(dest_path: str) -> None:
    """A COPY or MOVE whose destination is the share root or a property folder (one
    segment, existing or not) would replace or create a property: refused."""
    parts = split_share_path(dest_path)
    if parts is None or len(parts) < 2:
        refuse_protected()


class _Protected:
    """The share root and the property folders: WsgiDAV asks these hooks before it
    walks a tree, so a DELETE, MOVE or COPY of them is refused before any member is
    touched (a refused request changes nothing)."""

    def handle_delete(self):
        refuse_protected()

    def handle_move(self, dest_path):
        refuse_protected()

    def handle_copy(self, dest_path, *, depth_infinity):
        refuse_protected()


class SharesRoot(_Protected, DAVCollection):
    """``/`` of a share: one folder per property the user may see; for a contact who
    sees none, the notice file that says why (``docs/interface.md``)."""

    def get_member_names(self):
        visible = sorted(self.provider.visible_keys(self.environ))
        if not visible and self.provider.notice_for(self.environ) is not None:
            return [NOTICE_NAME]
        return visible

    def get_display_name(self):
        return "Objekte"

    def get_etag(self):
        return None

    def support_etag(self):
        return False

    def get_last_modified(self):
        return None


#: A full disk, a full quota, or a file larger than the volume or process may hold
#: (FAT's 4 GiB, ``RLIMIT_FSIZE``): the upload cannot be stored, 507.
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class NoticeFile(_Protected, DAVNonCollection):
    """The contact's notice (:mod:`gateway.services.access_notice`): made per request,
    never stored, read-only like everything a contact sees."""

    def __init__(self, path, environ, text: str):
        super().__init__(path, environ)
        self._data = text.encode("utf-8")

    def get_content_length(self):
        return len(self._data)

    def get_content_type(self):
        return "text/plain; charset=utf-8"

    def get_content(self):
        return io.BytesIO(self._data)

    def get_etag(self):
        return hashlib.sha256(self._data).hexdigest()[:32]

    def support_etag(self):
        return True

    def support_ranges(self):
        return False

    def get_last_modified(self):
        return None

    def get_display_name(self):
        return NOTICE_NAME


class _ShareMember:
    """What files and folders inside a property have in common: DELETE moves them to
    the trash, and they are never copied or moved onto a protected level."""

    def handle_copy(self, dest_path, *, depth_infinity):
        _refuse_onto_protected(dest_path)
        return False  # WsgiDAV copies

    def handle_move(self, dest_path):
        _refuse_onto_protected(dest_path)
        _before_change(self.path)
        return False  # WsgiDAV moves

    def handle_delete(self):
        """Move to the trash in one rename, once nothing in it is locked by a lock the
        request does not hold. OS junk (``.DS_Store``, ``._*``, Office's ``~$`` files)
        is deleted as before: Finder and Word delete it all the time."""
        if self.provider.readonly:
            raise DAVError(HTTP_FORBIDDEN)
        if is_os_junk(self.name):
            return False
        self._check_unlocked()
        key, _, inside = self.path.strip("/").partition("/")
        try:
            trash.move_to_trash(
                self.provider.trash, key, inside, agent=self.environ.get("wsgidav.user_name")
            )
        except NotFound:
            raise DAVError(HTTP_NOT_FOUND) from None
        except OSError as exc:
            if exc.errno in _DISK_FULL:
                raise DAVError(HTTP_INSUFFICIENT_STORAGE, "disk full") from None
            raise
        self.remove_all_properties(recursive=True)
        self.remove_all_locks(recursive=True)
        return True

    def _check_unlocked(self):
        """Raise 423 when this resource or anything below it is locked by a lock the
        request does not submit."""
        lock_manager = self.provider.lock_manager
        if lock_manager is None:
            return
        if "wsgidav.conditions.if" not in self.environ:
            util.parse_if_header_dict(self.environ)
        lock_manager.check_write_permission(
            url=self.get_ref_url(),
            depth="infinity",
            token_list=self.environ["wsgidav.ifLockTokenList"],
            principal=self.environ.get("wsgidav.user_name"),
        )


class GatewayFolder(_ShareMember, FolderResource):
    """A folder inside a share. Contacts do not see OS junk or dot files."""

    def _scan(self) -> list[tuple[str, bool]]:
        """(name, is a folder) of the members the share lists (``listed_members``)."""
        hidden = hidden_names(self.provider.readonly)
        return [
            (entry.name, stat.S_ISDIR(info.st_mode))
            for entry, info in listed_members(self._file_path, hidden)
        ]

    def get_member_names(self):
        return [name for name, _ in self._scan()]

    def get_member_list(self):
        """The members as resources, built here instead of one provider lookup each."""
        key = self.path.strip("/").split("/", 1)[0]
        members = []
        for name, is_folder in self._scan():
            path = join_uri(self.path, name)
            file_path = os.path.join(self._file_path, name)
            try:
                members.append(
                    GatewayFolder(path, self.environ, file_path)
                    if is_folder
                    else GatewayFile(path, self.environ, file_path, key)
                )
            except FileNotFoundError:
                continue  # removed meanwhile
        return members

    def create_collection(self, name):
        self._refuse_hidden(name)
        super().create_collection(name)

    def create_empty_resource(self, name):
        self._refuse_hidden(name)
        resource = super().create_empty_resource(name)
        resource.is_placeholder = True  # a failed upload removes it again
        return resource

    def delete(self):
        """Remove the folder and everything in it, unless something inside is locked
        by a lock the request does not hold.

        WsgiDAV deletes a collection member by member and then the folder itself; it
        means to skip the folder when a member could not go (a lock), but misses it
        for folder paths with a trailing slash, and ``FolderResource.delete`` would
        then ``rmtree`` the locked file too. COPY and MOVE with overwrite call this
        directly and expect the whole tree to go, so the check, not ``rmdir``, is
        what keeps a locked file.
        """
        if self.provider.readonly:
            raise DAVError(HTTP_FORBIDDEN)
        self._check_unlocked()
        super().delete()

    @staticmethod
    def _refuse_hidden(name):
        if is_upload_temp(name):
            raise DAVError(HTTP_FORBIDDEN, "reserved name")


class PropertyFolder(_Protected, GatewayFolder):
    """``/<key>``: the property's folder. It is not deleted, moved or copied over DAV,
    and nothing is copied or moved onto it; properties are created and removed through
    the CLI. Its members are what agents work on."""

    def __init__(self, path, environ, file_path, title):
        super().__init__(path, environ, file_path)
        self._title = title

    def get_display_name(self):
        return self._title or self.name

    def delete(self):
        """Never reached through the hooks above; the last line all the same."""
        refuse_protected()


class _LimitedUpload:
    """The temporary file of an upload: refuses bytes beyond the size limit (413) and
    turns a full disk into 507, so the old version stays intact."""

    def __init__(self, fileobj, limit: int):
        self._file = fileobj
        self._limit = limit
        self.written = 0

    def write(self, data):
        self.written += len(data)
        if self.written > self._limit:
            raise DAVError(HTTP_REQUEST_ENTITY_TOO_LARGE, "upload exceeds the size limit")
        try:
            self._file.write(data)
        except OSError as exc:
            if exc.errno in _DISK_FULL:
                raise DAVError(HTTP_INSUFFICIENT_STORAGE, "disk full") from None
            raise

    def close(self):
        try:
            self._file.close()
        except OSError as exc:
            if exc.errno in _DISK_FULL:
                raise DAVError(HTTP_INSUFFICIENT_STORAGE, "disk full") from None
            raise


class GatewayFile(_ShareMember, FileResource):
    """A file of a share. Reading marks the tracking record; writing is atomic."""

    def __init__(self, path, environ, file_path, property_key):
        super().__init__(path, environ, file_path)
        self.property_key = property_key
        self._upload = None
        self._upload_path = None
        self.is_placeholder = False

    def get_etag(self):
        """WsgiDAV's ``inode-mtime-size`` from the stat this resource already holds,
        not from two more system calls (a PROPFIND asks three times per file)."""
        info = self.file_stat
        return f"{info[stat.ST_INO]}-{info[stat.ST_MTIME]}-{info[stat.ST_SIZE]}"

    def get_content(self):
        fileobj = open(self._file_path, "rb", buffering=0)  # noqa: SIM115 - closed by WsgiDAV
        record = self.environ.get(ACCESS_KEY)
        if record is not None:
            record.mark_file(
                self.property_key, self.path, self._file_path, self.file_stat, self.environ
            )
        return fileobj

    def begin_write(self, *, content_type=None):
        if self.provider.readonly:
            raise DAVError(HTTP_FORBIDDEN)
        _before_change(self.path)
        folder = os.path.dirname(self._file_path)
        self._upload_path = os.path.join(folder, UPLOAD_PREFIX + secrets.token_hex(8))
        raw = open(self._upload_path, "xb")  # noqa: SIM115 - closed by WsgiDAV's do_PUT
        self._upload = _LimitedUpload(raw, self.provider.max_upload_bytes)
        return self._upload

    def end_write(self, *, with_errors):
        upload_path, self._upload_path = self._upload_path, None
        if upload_path is None:
            return
        try:
            self._upload._file.close()
        except OSError:
            with_errors = True
        if with_errors:
            _remove_quietly(upload_path)
            if self.is_placeholder:
                _remove_quietly(self._file_path)
            return
        os.replace(upload_path, self._file_path)
        self.file_stat = os.stat(self._file_path)


def _before_change(share_path: str) -> None:
    """A served version of what is about to change is kept first (``served_versions``)."""
    key, _, inside = share_path.strip("/").partition("/")
    if inside:
        served_versions.before_change(key, inside)


def _remove_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
