"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from aiosmtpd.controller import Controller


class Inbox:
    """aiosmtpd handler: ``messages`` holds (recipients, raw bytes) of each message;
    ``arrived`` is set by the first."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        self.arrived.set()
        return "250 OK"


@contextlib.contextmanager
def smtp_server(port: int) -> Iterator[Inbox]:
    """An SMTP server on ``127.0.0.1:port`` for the block; yields its inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
