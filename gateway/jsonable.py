"""Records as JSON values: the one conversion behind the CLI's ``--json`` and the API,
so that both print the same fields in the same form (times as ISO 8601 UTC, dates as
``YYYY-MM-DD``)."""

from __future__ import annotations

import dataclasses
import datetime

from gateway.clock import iso


def to_jsonable(value):
    if dataclasses.is_dataclass(value):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        return iso(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
