"""What a folder holds, for tests that assert a request changed no byte on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_hashes(root: Path) -> dict[str, str]:
    """Every entry below ``root`` by relative path: a file's sha256, ``"folder"`` for a
    folder."""
    return {
        path.relative_to(root).as_posix(): (
            "folder" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        )
        for path in sorted(root.rglob("*"))
    }
