"""What every case gets: the profile, the data, the running servers and the way to
take turns between them."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.data import Dataset
from bench.profiles import Profile
from bench.servers import Server


@dataclasses.dataclass
class Bench:
    profile: Profile
    data: Dataset
    work: Path
    home: Path  # immoshare's home; its properties/ is the dataset root
    servers: dict[str, Server]  # the running ones, immoshare first
    links: dict[str, str]  # property key → path of the contact's personal link
    rounds: int

    @property
    def immoshare(self) -> Server:
        return self.servers["immoshare"]

    def turns(
        self, names: tuple[str, ...] | None = None, *, warm: tuple[str, ...] = ()
    ) -> Iterator[tuple[int, Server]]:
        """(round, server) for every round, the servers' order rotating each round so
        that none always runs first or on a warmer cache. Before each turn the files
        (or folders) in ``warm`` are read once, so that every server finds them in
        the page cache: the kernel may page out file pages not touched for a while,
        and on the machine of ``bench/RESULTS.md`` it did so after a minute."""
        for r in range(self.rounds):
            for server in self.rotation(r, names):
                for relative in warm:
                    self.data.warm(relative)
                yield r, server

    def rotation(self, round: int, names: tuple[str, ...] | None = None) -> list[Server]:
        """The running servers (those in ``names``, or all) in round ``round``'s order."""
        running = [s for n, s in self.servers.items() if names is None or n in names]
        shift = round % len(running) if running else 0
        return running[shift:] + running[:shift]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
