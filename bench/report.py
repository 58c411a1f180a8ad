"""Rows of results, their medians and ratios, and the one table the run prints.

A row holds every sample per server; the table shows medians, the ratio immoshare /
peer, the target and whether it is met. A skipped case is still a row, with its
reason, so the table always has one line per case or more.
"""

from __future__ import annotations

import dataclasses
import operator
import statistics

#: cheroot: the ceiling of immoshare's own HTTP server (``bench.bare_server``).
SERVERS = ("immoshare", "copyparty", "wsgidav", "nginx", "cheroot")
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

    def add(self, server: str, value: float) -> None:
        self.samples.setdefault(server, []).append(value)

    def medians(self) -> dict[str, float]:
        return {s: statistics.median(v) for s, v in self.samples.items() if v}

    def met(self) -> bool | None:
        return None if self.skipped or self.target is None else self.target.met(self.medians())


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("s", "×"):
        return f"{value:,.2f}"
    if unit in ("ms", "MiB"):
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,.0f}"


def table(rows: list[Row]) -> str:
    """A Markdown table: medians, ratios immoshare / peer, target, met."""
    head = ["case", "metric", *SERVERS] + [f"imm/{p}" for p in PEERS] + ["target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        if row.skipped:
            cells = [row.case, row.metric, f"skipped: {row.skipped}"] + [""] * (len(head) - 3)
        else:
            med = row.medians()
            mine = med.get("immoshare")
            ratios = [
                f"{mine / med[p]:.2f}" if mine is not None and med.get(p) else "—" for p in PEERS
            ]
            met = {True: "yes", False: "**no**", None: ""}[row.met()]
            cells = (
                [row.case, f"{row.metric} ({row.unit})"]
                + [_fmt(med.get(s), row.unit) for s in SERVERS]
                + ratios
                + [row.target.text(row.unit) if row.target else "", met]
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
