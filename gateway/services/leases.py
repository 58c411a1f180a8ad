"""Leasing queued rows, so that of several processes (README, "Scaling out") only one
works on a row at a time: the one rule every queue of immoshare uses.

A row is free when its lease field is empty or lies in the past. ``claim`` sets it to
``now + lease`` in one conditional UPDATE, which the database applies to each row for
exactly one caller. The caller then works and writes the field again: empty or the
next due time when done, a later time to retry. If a process dies while holding a
lease, the row is free again once the lease has run out.
"""

from __future__ import annotations

import datetime

import peewee as pw


def claim(
    model: type[pw.Model],
    where: pw.Expression,
    *,
    until: pw.Field,
    now: datetime.datetime,
    lease: datetime.timedelta,
    **marks,
) -> int:
    """Lease every row of ``model`` matching ``where`` whose ``until`` is empty or not
    after ``now``: set ``until`` to ``now + lease`` (and the fields in ``marks``, such
    as a token that names this claim's rows). Returns how many rows were claimed."""
    free = until.is_null() | (until <= now)
    changes = {until: now + lease, **{getattr(model, name): value for name, value in marks.items()}}
    return model.update(changes).where(where & free).execute()
