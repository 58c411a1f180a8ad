"""Rows of results, their medians, ratios and spread, and the one table the run prints.

A row holds every sample per server, with the round it came from; the table shows
medians, the ratio immoshare / peer, the target, whether it is met, and the spread:
the lowest and highest of the per-round ratios immoshare / target peer (round i of
immoshare paired with round i of the peer: the servers take turns within a round,
so a pair shares the machine's phase), or of immoshare's per-round values when the
target has no peer. A skipped case is still a row, with its reason, so the table
always has one line per case or more. Columns no row has a number for are left out.
"""

from __future__ import annotations

import dataclasses
import operator
import statistics

#: copyparty: started as its README shows (password-only accounts); copyparty-u: with
#: ``--usernames``; cheroot: the ceiling of immoshare's own HTTP server
#: (``bench.bare_server``).
SERVERS = ("immoshare", "copyparty", "copyparty-u", "wsgidav", "nginx", "cheroot")
PEERS = SERVERS[1:]
_OPS = {">=": operator.ge, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@dataclasses.dataclass(frozen=True)
class Target:
    """``immoshare / peer OP bound`` when ``peer`` is set, else ``immoshare OP bound``."""

    op: str
    bound: float
    peer: str | None = None

    def text(self, unit: str) -> str:
        if self.peer:
            return f"{self.op} {self.bound:g}× {self.peer}"
        return f"{self.op} {self.bound:g} {unit}"

    def met(self, medians: dict[str, float]) -> bool | None:
        mine = medians.get("immoshare")
        if mine is None:
            return None
        if self.peer is None:
            return _OPS[self.op](mine, self.bound)
        theirs = medians.get(self.peer)
        if not theirs:
            return None
        return _OPS[self.op](mine / theirs, self.bound)


@dataclasses.dataclass
class Row:
    case: str
    metric: str
    unit: str
    target: Target | None = None
    samples: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    skipped: str | None = None
    note: str = ""
    #: server → the round of each sample, where the case said (else a sample's index)
    rounds: dict[str, list[int]] = dataclasses.field(default_factory=dict)

    def add(self, server: str, value: float, round: int | None = None) -> None:
        self.samples.setdefault(server, []).append(value)
        if round is not None:
            self.rounds.setdefault(server, []).append(round)

    def medians(self) -> dict[str, float]:
        return {s: statistics.median(v) for s, v in self.samples.items() if v}

    def met(self) -> bool | None:
        return None if self.skipped or self.target is None else self.target.met(self.medians())

    def per_round(self, server: str) -> dict[int, float]:
        """round → the median of the server's samples in that round."""
        values = self.samples.get(server, [])
        rounds = self.rounds.get(server)
        if rounds is None or len(rounds) != len(values):
            return dict(enumerate(values))
        grouped: dict[int, list[float]] = {}
        for r, value in zip(rounds, values, strict=True):
            grouped.setdefault(r, []).append(value)
        return {r: statistics.median(v) for r, v in grouped.items()}

    def spread(self) -> tuple[float, float] | None:
        """Lowest and highest per-round ratio immoshare / target peer (or per-round
        value of immoshare when the target has no peer); None without a target."""
        if self.skipped or self.target is None:
            return None
        mine = self.per_round("immoshare")
        if self.target.peer is None:
            values = list(mine.values())
        else:
            theirs = self.per_round(self.target.peer)
            values = [mine[r] / theirs[r] for r in sorted(mine) if theirs.get(r)]
        return (min(values), max(values)) if values else None

    def versus(self, peer: str, metric: str | None = None) -> Row:
        """This row's immoshare and ``peer`` samples, its target against ``peer``."""
        kept = ("immoshare", peer)
        target = dataclasses.replace(self.target, peer=peer) if self.target else None
        return Row(
            self.case,
            metric or self.metric,
            self.unit,
            target,
            {s: list(v) for s, v in self.samples.items() if s in kept},
            self.skipped,
            rounds={s: list(v) for s, v in self.rounds.items() if s in kept},
        )


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("s", "×"):
        return f"{value:,.2f}"
    if unit in ("ms", "MiB"):
        if unit == "ms" and abs(value) < 1:  # server CPU per request: tenths of a ms
            return f"{value:.2f}"
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,.0f}"


def _spread_text(row: Row) -> str:
    spread = row.spread()
    if spread is None:
        return ""
    low, high = spread
    if row.target.peer is None:
        low_text, high_text = _fmt(low, row.unit), _fmt(high, row.unit)
    else:
        low_text, high_text = f"{low:.2f}", f"{high:.2f}"
    return low_text if low_text == high_text else f"{low_text}–{high_text}"


def table(rows: list[Row]) -> str:
    """A Markdown table: medians, ratios immoshare / peer, target, met, spread."""
    used = {s for row in rows for s, v in row.samples.items() if v}
    servers = [s for s in SERVERS if s in used or s == "immoshare"]
    peers = [p for p in servers if p != "immoshare"]
    head = ["case", "metric", *servers, *(f"imm/{p}" for p in peers), "target", "met", "spread"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        if row.skipped:
            cells = [row.case, row.metric, f"skipped: {row.skipped}"] + [""] * (len(head) - 3)
        else:
            med = row.medians()
            mine = med.get("immoshare")
            ratios = [
                f"{mine / med[p]:.2f}" if mine is not None and med.get(p) else "—" for p in peers
            ]
            met = {True: "yes", False: "**no**", None: ""}[row.met()]
            cells = (
                [row.case, f"{row.metric} ({row.unit})"]
                + [_fmt(med.get(s), row.unit) for s in servers]
                + ratios
                + [row.target.text(row.unit) if row.target else "", met, _spread_text(row)]
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
