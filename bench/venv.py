"""The bench's own environment: the Python peers and profilers, apart from immoshare's.

Installed by the bench itself into ``bench/.work/venv`` from ``requirements-peers.txt``
(pinned), so a peer's dependencies never touch the project's environment. When the
install fails (no network), the peers are skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).with_name("requirements-peers.txt")


@dataclasses.dataclass(frozen=True)
class PeerEnv:
    python: Path | None
    problem: str | None = None  # why it is missing

    def bin(self, name: str) -> Path:
        return self.python.parent / name


def ensure_peer_env(venv: Path) -> PeerEnv:
    """Create or update the environment; never raises."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = REQUIREMENTS.read_text()
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return PeerEnv(python)
    try:
        if not python.exists():
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)],
                check=True,
                capture_output=True,
                timeout=120,
            )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.CalledProcessError as exc:
        last = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["?"]
        return PeerEnv(None, f"pip install failed: {last[0]}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return PeerEnv(None, f"cannot create {venv}: {exc}")
    stamp.write_text(wanted)
    return PeerEnv(python)
