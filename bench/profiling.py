"""Where immoshare's time goes: py-spy samples the server process while a case runs.

``python -m bench --profile --cases 1,3,4 --servers immoshare`` writes py-spy's raw
(collapsed) stacks per case to ``.work/<profile>/profiles/`` and prints a summary: the
share of samples per component and the functions with the most inclusive and self
time. py-spy comes from the bench's own environment.
"""

from __future__ import annotations

import collections
import re
import signal
import subprocess
from pathlib import Path

from bench.venv import PeerEnv

# Component of a frame, by the file it is in; first match wins.
COMPONENTS = (
    ("immoshare tracking", re.compile(r"gateway/(delivery|services/tracking)")),
    ("immoshare auth & grants", re.compile(r"gateway/(services/access|security|services/grants)")),
    ("immoshare dav_provider", re.compile(r"dav_provider/")),
    ("peewee/sqlite", re.compile(r"peewee|playhouse|sqlite")),
    ("wsgidav", re.compile(r"wsgidav/")),
    ("cheroot", re.compile(r"cheroot/")),
    ("lxml/xml", re.compile(r"lxml|xml")),
)
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


class Sampler:
    """py-spy recording ``pid`` from ``with`` entry to exit."""

    def __init__(self, env: PeerEnv, pid: int, output: Path, rate: int = 250):
        self.argv = [
            str(env.bin("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            str(output),
            "--nonblocking",
        ]
        self.output = output

    def __enter__(self):
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        self.proc.wait(60)


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for raw in stack.split(";"):
        match = _FRAME.match(raw.strip())
        if match:
            frames.append((match["func"], match["file"]))
    return frames


def summarize(raw: Path, top: int = 12) -> str:
    """Components' share and the top functions (inclusive, self) of a raw profile."""
    inclusive, leaf, components = (collections.Counter() for _ in range(3))
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = _frames(stack)
        total += n
        names = {f"{func} ({Path(file).name})" for func, file in frames}
        for name in names:
            inclusive[name] += n
        if frames:
            func, file = frames[-1]
            leaf[f"{func} ({Path(file).name})"] += n
        seen = {
            label for label, pattern in COMPONENTS for _, file in frames if pattern.search(file)
        }
        for label in seen:
            components[label] += n
    if not total:
        return f"{raw.name}: no samples"
    pct = lambda n: f"{100 * n / total:5.1f}%"  # noqa: E731
    lines = [f"{raw.name}: {total} samples (busy threads only)", "  components (inclusive):"]
    lines += [f"    {pct(n)}  {label}" for label, n in components.most_common()]
    lines.append("  top inclusive:")
    lines += [f"    {pct(n)}  {name}" for name, n in inclusive.most_common(top)]
    lines.append("  top self:")
    lines += [f"    {pct(n)}  {name}" for name, n in leaf.most_common(top)]
    return "\n".join(lines)
