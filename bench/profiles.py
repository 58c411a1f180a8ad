"""Sizes, counts and time bounds of a run: the full benchmark and the smoke variant.

One frozen dataclass so every case reads its bounds from one place, and the smoke
test exercises exactly the code the full run uses, only on tiny numbers.
"""

from __future__ import annotations

import dataclasses

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    rounds: int  # times each case runs per server, alternating servers (5: the acceptance minimum)
    small_bytes: int  # case 1, 2, 12, 13
    rps_seconds: float  # length of one request-rate measurement (case 1, 2, 9, 12, 13)
    rps_connections: int
    big_bytes: int  # case 3, 13
    big_repeats: int  # case 3: downloads in a row per turn (one lasts a third of a second)
    listing_files: int  # case 4, and the search share of case 6
    propfind_repeats: int  # case 4: requests between the memory readings
    zip_files: int  # case 5
    zip_total_bytes: int
    page_files: int  # case 6
    page_repeats: int
    download_files: int  # case 7: concurrent downloads, one file each
    download_bytes: int
    large_files: int  # case 12, 3: small files beside the 4 KiB one in the large property
    large_big_bytes: int  # case 3: the one big file of the large property
    large_batch_files: int  # the large property's medium files …
    large_batch_bytes: int  # … and their total size
    events: int  # case 8
    import_bytes: int  # case 11: attachments of the OpenImmo export
    request_timeout: float  # seconds; bounds every single request
    download_timeout: float  # seconds; bounds each of the concurrent downloads (case 7)
    settle_timeout: float  # seconds to wait for the servers' start-up work to end

    @property
    def zip_file_bytes(self) -> int:
        return self.zip_total_bytes // self.zip_files

    @property
    def large_batch_file_bytes(self) -> int:
        return self.large_batch_bytes // self.large_batch_files


FULL = Profile(
    name="full",
    rounds=5,
    small_bytes=4096,
    rps_seconds=6.0,
    rps_connections=16,
    big_bytes=GIB,
    big_repeats=3,
    listing_files=10_000,
    propfind_repeats=10,
    zip_files=200,
    zip_total_bytes=2 * GIB,
    page_files=2_000,
    page_repeats=10,
    download_files=200,
    download_bytes=5_000_000,
    large_files=10_000,
    large_big_bytes=256 * MIB,
    large_batch_files=40,
    large_batch_bytes=320 * MIB,
    events=1_000_000,
    import_bytes=GIB,
    request_timeout=120.0,
    download_timeout=30.0,
    settle_timeout=240.0,
)

SMOKE = Profile(
    name="smoke",
    rounds=1,
    small_bytes=4096,
    rps_seconds=0.5,
    rps_connections=4,
    big_bytes=4 * MIB,
    big_repeats=1,
    listing_files=60,
    propfind_repeats=2,
    zip_files=5,
    zip_total_bytes=MIB,
    page_files=20,
    page_repeats=2,
    download_files=10,
    download_bytes=100_000,
    large_files=30,
    large_big_bytes=2 * MIB,
    large_batch_files=4,
    large_batch_bytes=MIB,
    events=2_000,
    import_bytes=8 * MIB,
    request_timeout=20.0,
    download_timeout=10.0,
    settle_timeout=15.0,
)
