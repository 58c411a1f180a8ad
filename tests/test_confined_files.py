"""Opening a share's file confined: no way out of the folder, with ``openat2`` and
with the portable way."""

from __future__ import annotations

import os
import platform
import sys

import pytest

from gateway.shares import ConfinedFiles
from tests.tools import require_capability


@pytest.fixture(params=["openat2", "portable"])
def files(request, tmp_path):
    root = tmp_path / "properties"
    (root / "obj-1" / "Pläne").mkdir(parents=True)
    (root / "obj-1" / "Pläne" / "EG 1.pdf").write_bytes(b"%PDF-inside")
    (tmp_path / "secret.txt").write_bytes(b"outside")
    (root / "obj-1" / "escape.pdf").symlink_to(tmp_path / "secret.txt")
    (root / "obj-1" / "alias.pdf").symlink_to(root / "obj-1" / "Pläne" / "EG 1.pdf")
    (root / "obj-1" / "Verweis").symlink_to(root / "obj-1" / "Pläne")
    (root / "obj-2").symlink_to(tmp_path)
    opener = ConfinedFiles(os.path.realpath(root))
    if request.param == "portable":
        opener._beneath = None
    elif not opener.in_one_call:
        pytest.fail("this Linux has no openat2 (needs 5.6), or a sandbox refuses it")
    return opener


def _read(files: ConfinedFiles, parts: list[str]) -> bytes | None:
    opened = files.open(parts)
    if opened is None:
        return None
    try:
        return os.pread(opened[0], 100, 0)
    finally:
        os.close(opened[0])


def test_a_file_in_the_share_opens(files):
    assert _read(files, ["obj-1", "Pläne", "EG 1.pdf"]) == b"%PDF-inside"


@pytest.mark.parametrize(
    "parts",
    [
        ["obj-1", "escape.pdf"],  # a link out of the share
        ["obj-1", "alias.pdf"],  # a link, even one that stays inside
        ["obj-1", "Verweis", "EG 1.pdf"],  # a linked folder on the way
        ["obj-2", "secret.txt"],  # a property folder that is a link
        ["obj-1", "..", "..", "secret.txt"],
        ["obj-1", "nichts.pdf"],
        ["obj-1", "a\x00b"],
    ],
)
def test_no_way_out_and_nothing_missing_opens(files, parts):
    assert files.open(parts) is None


def test_linux_opens_in_one_call(tmp_path):
    if sys.platform != "linux":
        require_capability("openat2 is Linux's")
    major, minor = (int(n) for n in platform.release().split(".")[:2])
    if (major, minor) < (5, 6):
        require_capability("openat2 came with Linux 5.6")
    assert ConfinedFiles(str(tmp_path)).in_one_call
