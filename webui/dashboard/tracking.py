"""Tracking views: events filtered by property, contact, action and time, newest
first, a page at a time (keyset pages by event id, ``services.event_pages``), and
the same selection as CSV (``services.export.csv_text``, formulas neutralised).
"""

from __future__ import annotations

import datetime

from werkzeug.wrappers import Request, Response

from gateway.errors import InvalidInput
from gateway.numbers import whole_number_or_none
from gateway.services import event_pages, export
from webui.dashboard import links
from webui.dashboard.session import dashboard_page, render
from webui.dashboard.words import Problem
from webui.i18n import LOCAL_ZONE

MAX_NAME = 64
FILTER_FIELDS = ("property", "contact", "action", "from", "to")


def _day_start(text: str, field: str) -> datetime.datetime:
    """Midnight of ``YYYY-MM-DD`` in the agency's zone, the zone the pages show."""
    try:
        day = datetime.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidInput(f"{field}: expected YYYY-MM-DD")
    return datetime.datetime.combine(day, datetime.time(), LOCAL_ZONE)


def parse_filter(args) -> tuple[event_pages.EventFilter, dict]:
    """The filter of the query string and its raw values (for the form and links).

    :raises InvalidInput: a value out of bounds, an unknown action, a bad date."""
    raw = {name: args.get(name, "").strip() for name in FILTER_FIELDS}
    for name in ("property", "contact"):
        if len(raw[name]) > MAX_NAME:
            raise InvalidInput(f"{name}: at most {MAX_NAME} characters")
    if raw["action"] and raw["action"] not in event_pages.ACTIONS:
        raise InvalidInput("action: one of " + ", ".join(event_pages.ACTIONS))
    since = _day_start(raw["from"], "from") if raw["from"] else None
    until = _day_start(raw["to"], "to") + datetime.timedelta(days=1) if raw["to"] else None
    selection = event_pages.EventFilter(
        property=raw["property"] or None,
        contact=raw["contact"] or None,
        action=raw["action"] or None,
        since=since,
        until=until,
    )
    return selection, raw


def parse_before(args) -> int | None:
    text = args.get("before", "")
    if not text:
        return None
    before = whole_number_or_none(text) if len(text) <= 19 and text.isdigit() else None
    if before is None:
        raise InvalidInput("before: an event number")
    return before


@dashboard_page
def tracking_page(app, request: Request, login) -> Response:
    try:
        selection, raw = parse_filter(request.args)
        before = parse_before(request.args)
    except InvalidInput as exc:
        return render(
            app,
            request,
            "dashboard/tracking.html",
            login,
            status=400,
            message=Problem("bad_filter", str(exc)),
            raw={name: "" for name in FILTER_FIELDS},
            page=None,
            actions=event_pages.ACTIONS,
        )
    page = event_pages.events_page(selection, before=before)
    return render(
        app,
        request,
        "dashboard/tracking.html",
        login,
        message=None,
        raw=raw,
        page=page,
        actions=event_pages.ACTIONS,
        first_link=links.tracking(**raw),
        older_link=links.tracking(**raw, before=page.next_before),
        csv_link=links.tracking_csv(**raw),
    )


@dashboard_page
def tracking_csv(app, request: Request, login) -> Response:
    try:
        selection, _ = parse_filter(request.args)
    except InvalidInput as exc:
        return Response(str(exc) + "\n", status=400, content_type="text/plain; charset=utf-8")

    def rows():
        yield export.csv_text([], header=True)
        batch = []
        for event in event_pages.all_events(selection):
            batch.append(event)
            if len(batch) == 1000:
                yield export.csv_text(batch, header=False)
                batch = []
        yield export.csv_text(batch, header=False)

    response = Response((part.encode() for part in rows()), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="tracking.csv"'
    return response
