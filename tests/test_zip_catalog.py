"""The catalog's CRC-32: computed in the sha256's read, named only for the
catalogued version, filled in for rows from before it by the next scan."""

from __future__ import annotations

import os
import zlib

from gateway import migrations
from gateway.db import database
from gateway.models import CatalogEntry
from gateway.services import catalog
from tests.factories import make_property


def test_the_crc_belongs_to_the_catalogued_version_only(config):
    make_property(config, "obj-1", files={"Grundrisse/EG.pdf": b"%PDF eg"})
    path = config.properties_dir / "obj-1" / "Grundrisse" / "EG.pdf"
    assert catalog.known_crc32(config, "obj-1", "Grundrisse/EG.pdf", os.stat(path)) is None
    catalog.scan_all(config)
    before = os.stat(path)
    assert catalog.known_crc32(config, "obj-1", "Grundrisse/EG.pdf", before) == zlib.crc32(
        b"%PDF eg"
    )
    path.write_bytes(b"%PDF EG")  # same size, and the mtime set back
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert catalog.known_crc32(config, "obj-1", "Grundrisse/EG.pdf", os.stat(path)) is None
    assert catalog.file_version(config, "obj-1", "Grundrisse/EG.pdf") is not None
    assert catalog.known_crc32(config, "obj-1", "Grundrisse/EG.pdf", os.stat(path)) == zlib.crc32(
        b"%PDF EG"
    )


def test_rows_from_before_the_crc_get_one_at_the_next_scan(config, monkeypatch):
    make_property(config, "obj-1", files={"a.pdf": b"a"})
    catalog.scan_all(config)
    CatalogEntry.update(crc32=None).execute()
    monkeypatch.setattr(catalog, "_memo", catalog._VersionMemo())  # a freshly started process
    stat = os.stat(config.properties_dir / "obj-1" / "a.pdf")
    assert catalog.known_crc32(config, "obj-1", "a.pdf", stat) is None
    hashed = []
    monkeypatch.setattr(catalog, "hash_file", lambda path: hashed.append(path))
    assert catalog.file_version(config, "obj-1", "a.pdf", stat) is not None
    assert hashed == []  # a download does not hash again for the CRC
    monkeypatch.undo()
    catalog.scan_all(config)
    assert catalog.known_crc32(config, "obj-1", "a.pdf", stat) == zlib.crc32(b"a")


def test_migration_adds_the_crc_column_to_an_older_database(config):
    database.execute_sql("ALTER TABLE catalog_entry DROP COLUMN crc32")
    migrations.AppliedMigration.delete().where(
        migrations.AppliedMigration.name == "0004_catalog_crc32"
    ).execute()
    assert migrations.apply_migrations() == ["0004_catalog_crc32"]
    assert "crc32" in {c.name for c in database.get_columns("catalog_entry")}
