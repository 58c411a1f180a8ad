"""The event field lists: the export follows docs/interface.md, the chain never moves."""

from __future__ import annotations

import re

from gateway.security import USER_AGENT_LIMIT, cut_user_agent
from gateway.services import tracking
from tests.tools import REPO


def documented_fields() -> list[str]:
    text = (REPO / "docs" / "interface.md").read_text(encoding="utf-8")
    table = text.split("## Tracking event", 1)[1].split("\n## ", 1)[0]
    fields = []
    for line in table.splitlines():
        if line.startswith("| `"):
            fields += re.findall(r"`(\w+)`", line.split("|")[1])
    return fields


def test_public_fields_are_the_documented_table():
    assert list(tracking.PUBLIC_FIELDS) == documented_fields()


def test_chained_fields_keep_the_order_stored_chains_were_hashed_in():
    assert tracking.CHAINED_FIELDS == (
        "at",
        "property",
        "agent",
        "channel",
        "action",
        "path",
        "bytes",
        "size",
        "complete",
        "status",
        "sha256",
        "uid",
        "range_start",
        "subject",
    )
    assert tracking.STORED_FIELDS == tracking.CHAINED_FIELDS + (
        "id",
        "contact",
        "ip",
        "user_agent",
        "prev_hash",
        "hash",
    )


def test_user_agent_is_cut_to_what_the_database_holds():
    assert cut_user_agent(None) is None
    assert cut_user_agent("") is None
    assert cut_user_agent("curl/8") == "curl/8"
    assert cut_user_agent("x" * 2000) == "x" * USER_AGENT_LIMIT
