"""The file catalog names the version of a file: sha256 of what is on disk now."""

from __future__ import annotations

import os

from gateway.services import catalog
from tests.factories import make_property
from tests.tools import sha


def test_file_version_follows_the_file_on_disk(config):
    make_property(config, "obj-1", files={"Grundrisse/EG.pdf": b"%PDF-1"})
    assert catalog.file_version(config, "obj-1", "Grundrisse/EG.pdf") == sha(b"%PDF-1")
    target = config.properties_dir / "obj-1" / "Grundrisse" / "EG.pdf"
    target.write_bytes(b"%PDF-2, longer")
    assert catalog.file_version(config, "obj-1", "/Grundrisse/EG.pdf") == sha(b"%PDF-2, longer")
    assert catalog.file_version(config, "obj-1", "Grundrisse/missing.pdf") is None
    assert catalog.file_version(config, "obj-1", "Grundrisse") is None


def test_a_replaced_file_with_the_old_size_and_mtime_is_a_new_version(config):
    make_property(config, "obj-1", files={"a.pdf": b"AAAA"})
    folder = config.properties_dir / "obj-1"
    assert catalog.file_version(config, "obj-1", "a.pdf") == sha(b"AAAA")
    old = os.stat(folder / "a.pdf")
    (folder / "new.tmp").write_bytes(b"BBBB")
    os.utime(folder / "new.tmp", ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(folder / "new.tmp", folder / "a.pdf")  # like `cp -p` or an SMB copy
    assert catalog.file_version(config, "obj-1", "a.pdf") == sha(b"BBBB")


def test_full_scan_catalogues_files_and_forgets_vanished_ones(config):
    make_property(
        config,
        "obj-1",
        files={"a.pdf": b"a", "sub/b.pdf": b"b", "._a.pdf": b"x", ".DS_Store": b"x"},
    )
    make_property(config, "obj-2", files={"c.pdf": b"c"})
    assert catalog.scan_all(config) == 3
    assert [(e.path, e.sha256) for e in catalog.catalog_entries("obj-1")] == [
        ("a.pdf", sha(b"a")),
        ("sub/b.pdf", sha(b"b")),
    ]
    (config.properties_dir / "obj-1" / "sub" / "b.pdf").unlink()
    (config.properties_dir / "obj-2" / "c.pdf").write_bytes(b"c2")
    assert catalog.scan_all(config) == 2
    assert [e.path for e in catalog.catalog_entries("obj-1")] == ["a.pdf"]
    assert catalog.catalog_entries("obj-2")[0].sha256 == sha(b"c2")


def test_reconcile_of_a_removed_folder_forgets_everything_below_it(config):
    make_property(
        config, "obj-1", files={"plans/a.pdf": b"a", "plans/b.pdf": b"b", "plansx.pdf": b"c"}
    )
    catalog.scan_all(config)
    for name in ("a.pdf", "b.pdf"):
        (config.properties_dir / "obj-1" / "plans" / name).unlink()
    (config.properties_dir / "obj-1" / "plans").rmdir()
    catalog.reconcile_path(config, "obj-1", "plans")
    assert [e.path for e in catalog.catalog_entries("obj-1")] == ["plansx.pdf"]
