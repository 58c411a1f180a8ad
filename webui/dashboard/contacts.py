"""One contact (an Adresse): their properties, the timeline of their events, the
Nachweis PDF per property and everything stored about them (GDPR Art. 15)."""

from __future__ import annotations

import json

from werkzeug.wrappers import Request, Response

from gateway.errors import InvalidInput
from gateway.services import event_pages, grants, nachweis, overview, privacy
from webui.context import language
from webui.dashboard import links
from webui.dashboard.session import dashboard_page, render
from webui.dashboard.tracking import parse_before
from webui.dashboard.words import Problem


@dashboard_page
def contact_page(app, request: Request, login, ref: str) -> Response:
    contact, granted = overview.contact_grants(ref)
    try:
        before = parse_before(request.args)
    except InvalidInput as exc:
        problem = Problem("bad_filter", str(exc))
        return render(app, request, "dashboard/expired.html", login, status=400, message=problem)
    page = event_pages.events_page(event_pages.EventFilter(contact=ref), before=before)
    return render(
        app,
        request,
        "dashboard/contact.html",
        login,
        contact=contact,
        granted=granted,
        page=page,
        first_link=links.contact_page(ref) + "#timeline-heading",
        older_link=f"{links.contact_page(ref)}?before={page.next_before}#timeline-heading",
    )


@dashboard_page
def report_pdf(app, request: Request, login, key: str, ref: str) -> Response:
    """The Nachweis of ``ref`` for ``key`` as ``immoshare report --pdf`` writes it."""
    grants.get_grant(key, ref)  # 404 unless the contact had this property
    body = nachweis.render_pdf(app.config, key, ref, lang=language(request))
    response = Response(body, content_type="application/pdf")
    response.headers["Content-Disposition"] = _attachment(f"nachweis-{key}-{ref}.pdf")
    return response


@dashboard_page
def contact_export(app, request: Request, login, ref: str) -> Response:
    """``contact export REF --json``: everything stored about the contact."""
    overview.contact_grants(ref)  # 404 for an unknown contact
    body = json.dumps(privacy.export_contact(ref), ensure_ascii=False, indent=2)
    response = Response(body, content_type="application/json; charset=utf-8")
    response.headers["Content-Disposition"] = _attachment(f"auskunft-{ref}.json")
    return response


def _attachment(name: str) -> str:
    """A file name that cannot break the header: refs may hold ``/`` and quotes."""
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)
    return f'attachment; filename="{safe}"'
