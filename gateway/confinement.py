"""The one rule that keeps a path inside its property folder.

WebDAV, the contact pages and the trash all resolve a share path through
:func:`confine` (README, Security: no ``..``, no symbolic link on the way).
"""

from __future__ import annotations

import os


def confine(root: str | os.PathLike, parts: list[str]) -> str | None:
    """Absolute path of ``parts`` below ``root``, or None if it would leave ``root``
    (through ``..``, an absolute segment or a symbolic link anywhere on the way)."""
    real_root = os.path.realpath(root)
    candidate = os.path.normpath(os.path.join(real_root, *parts))
    real = os.path.realpath(candidate)
    if real != candidate:
        return None  # a symlink somewhere on the way
    if os.path.commonpath([real_root, real]) != real_root:
        return None
    return real
