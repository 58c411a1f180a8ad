"""The one place that reads the clock, so tests and evidence agree on UTC."""

import datetime


def utc_now() -> datetime.datetime:
    """Return the current time in UTC, timezone-aware, to the microsecond."""
    return datetime.datetime.now(datetime.UTC)


def iso(moment: datetime.datetime | None) -> str | None:
    """Format a stored moment as ISO 8601 UTC with a trailing ``Z``."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
