"""Case 11: ``immoshare import openimmo`` of an export against a plain ``unzip`` of it.

An OpenImmo export of photos and PDFs (incompressible data, deflated as CRMs write
them) is unpacked by ``unzip -q`` into an empty folder, and imported by immoshare
into a fresh home, alternately, each as a process timed from start to exit. The
import does more than unzip (it checks the whole export first, parses the XML,
hashes every file and records it in the catalog); the target is that it still runs
at close to disk speed. The import's peak memory is printed too: it must not grow
with the size of the export.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from bench.context import Bench, progress
from bench.report import Row, Target
from gateway.services.home import init_home
from gateway.services.openimmo import FOLDER_OF_GROUP

FILES = 40
GROUPS = list(FOLDER_OF_GROUP)


def _export_xml(count: int) -> bytes:
    anhaenge = "".join(
        f'<anhang location="EXTERN" gruppe="{GROUPS[i % len(GROUPS)]}">'
        f"<anhangtitel>Unterlage {i:03d}</anhangtitel><format>PDF</format>"
        f"<daten><pfad>dateien/unterlage-{i:03d}.pdf</pfad></daten></anhang>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><openimmo>'
        '<uebertragung art="OFFLINE" umfang="TEIL" version="1.2.7"/>'
        "<anbieter><anbieternr>A1</anbieternr><immobilie>"
        "<geo><plz>90402</plz><ort>Nürnberg</ort></geo>"
        "<freitexte><objekttitel>Bench-Objekt</objekttitel></freitexte>"
        f"<anhaenge>{anhaenge}</anhaenge>"
        "<verwaltung_techn><objektnr_extern>bench-import</objektnr_extern></verwaltung_techn>"
        "</immobilie></anbieter></openimmo>"
    ).encode()


def make_export(path: Path, total_bytes: int) -> None:
    """The export once per size: ``FILES`` incompressible attachments, deflated."""
    marker = path.with_suffix(".size")
    if path.exists() and marker.exists() and marker.read_text() == str(total_bytes):
        return
    progress(f"  writing an OpenImmo export of {total_bytes / 2**20:,.0f} MiB …")
    each = total_bytes // FILES
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("openimmo.xml", _export_xml(FILES))
        for i in range(FILES):
            with archive.open(f"dateien/unterlage-{i:03d}.pdf", "w") as member:
                left = each
                while left:
                    chunk = os.urandom(min(left, 4 * 2**20))
                    member.write(chunk)
                    left -= len(chunk)
    marker.write_text(str(total_bytes))


def _timed(command: list[str]) -> tuple[float, int]:
    """Seconds from start to exit, and the process's own peak resident memory in KiB
    (from ``wait4``, so earlier children do not count)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[0]}: {errors[-300:]}")
    return elapsed, usage.ru_maxrss


def case_import(bench: Bench) -> list[Row]:
    total = bench.profile.import_bytes
    row = Row(
        "11", f"OpenImmo import of {total / 2**20:,.0f} MiB", "MB/s", Target(">=", 0.7, "unzip")
    )
    if shutil.which("unzip") is None:
        row.skipped = "unzip is not installed"
        return [row]
    work = bench.work / "import"
    work.mkdir(parents=True, exist_ok=True)
    export = work / "export.zip"
    make_export(export, total)
    unpacked = sum(info.file_size for info in zipfile.ZipFile(export).infolist())
    peak = 0
    for _ in range(bench.rounds):
        target = work / "unzipped"
        shutil.rmtree(target, ignore_errors=True)
        elapsed, _ = _timed(["unzip", "-q", "-o", str(export), "-d", str(target)])
        row.add("unzip", unpacked / elapsed / 1e6)
        home = work / "home"
        shutil.rmtree(home, ignore_errors=True)
        init_home(home)
        command = [sys.executable, "-m", "gateway", "--home", str(home)]
        elapsed, rss = _timed([*command, "import", "openimmo", str(export), "--json"])
        row.add("immoshare", unpacked / elapsed / 1e6)
        peak = max(peak, rss)
    shutil.rmtree(work / "unzipped", ignore_errors=True)
    medians = row.medians()
    row.note = (
        f"unzip {medians['unzip']:,.0f} MB/s; immoshare/unzip "
        f"{medians['immoshare'] / medians['unzip']:.2f} (medians of {bench.rounds} "
        f"interleaved rounds); import peak memory {peak / 1024:.0f} MiB"
    )
    return [row]
