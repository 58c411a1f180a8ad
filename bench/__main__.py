"""``python -m bench [--smoke] [--cases 1,3,4] [--rounds N]``."""

import sys

from bench.run import run
from bench.servers import StartError

try:
    run()
except StartError as exc:
    sys.exit(f"bench: immoshare did not start: {exc}")
