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
        running = [s for n, s in self.servers.items() if names is None or n in names]
        for r in range(self.rounds):
            shift = r % len(running)
            for server in running[shift:] + running[:shift]:
                for relative in warm:
                    self.data.warm(relative)
                yield r, server


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
