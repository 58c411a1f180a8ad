"""One property: its documents with their opens and downloads, the Benutzerübersicht
(who has access: active, expiry, consent, mails, energy certificate, last access,
link), adding a contact, the preview link and how to mount the share.

Ticking and unticking "active" and changing the expiry go through
``services.grants`` as ``grant`` and ``revoke`` do: unticking revokes at once,
ticking grants again with the same link.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from gateway.errors import AlreadyExists, InvalidInput, NotFound
from gateway.services import contacts, event_pages, grants, invitations, overview, properties
from webui.dashboard import links
from webui.dashboard.session import dashboard_page, render
from webui.dashboard.words import Problem

RECENT_EVENTS = 20
#: ``?notice=`` after a change: which sentence the page shows (names come from the database).
NOTICES = {
    "created": "created_property",
    "saved": "saved",
    "revoked": "revoked",
    "reactivated": "reactivated",
    "granted": "granted",
    "invited": "invitation_sent",
}
#: Fields of a ``users --json`` row shown in their own column, and the names other
#: fields of the same meaning may carry; "–" when a row has none of them.
MAIL_FIELDS = ("consent_mail", "mail", "mail_state")
ENERGY_FIELDS = ("energy_certificate", "energy_certificate_delivered", "energy_certificate_at")


def _first(row: dict, names: tuple[str, ...]):
    for name in names:
        if row.get(name) is not None:
            return row[name]
    return None


def _user_rows(app, key: str) -> list[dict]:
    rows = []
    for row in grants.list_users(key):
        data = dataclasses.asdict(row)
        grant = grants.get_grant(key, row.contact)
        data["link"] = grants.personal_link(app.config, grant)
        data["revoked"] = not grant.active
        data["mail_value"] = _first(data, MAIL_FIELDS)
        data["energy_value"] = _first(data, ENERGY_FIELDS)
        data["invitation_value"] = data.get("invitation")  # the invitation mail's state
        rows.append(data)
    return rows


def show_property(
    app, request: Request, login, key: str, *, status=200, message=None, notice_key=None, extra=None
):
    """The page; ``message`` a :class:`Problem` of a refused form, ``notice_key`` the
    word of a notice."""
    prop = properties.get_property(key)
    notice = notice_key or NOTICES.get(request.args.get("notice", ""))
    users = _user_rows(app, key)
    names = {u["contact"]: u["name"] for u in users}
    who = names.get(request.args.get("ref", ""), "")
    return render(
        app,
        request,
        "dashboard/property.html",
        login,
        status=status,
        prop=prop,
        documents=overview.document_stats(key),
        users=users,
        other_contacts=[c for c in contacts.list_contacts() if c.ref not in names][:500],
        events_page=event_pages.events_page(
            event_pages.EventFilter(property=key), limit=RECENT_EVENTS
        ),
        preview=grants.preview_link(app.config, key),
        dav_url=grants.agent_dav_url(app.config),
        notice=notice,
        notice_values={"prop": key, "name": who},
        message=message,
        extra=extra or {},
    )


@dashboard_page
def property_page(app, request: Request, login, key: str) -> Response:
    return show_property(app, request, login, key)


def _back(key: str, notice: str, ref: str = "") -> Response:
    suffix = f"?notice={notice}" + (f"&ref={quote(ref, safe='')}" if ref else "")
    return redirect(links.property_page(key) + suffix + "#users", 303)


def _ref(request: Request) -> str:
    return request.form.get("ref", "")[:65]


@dashboard_page
def set_active(app, request: Request, login, key: str) -> Response:
    """The ``user-active`` checkbox: unticked revokes at once, ticked grants again."""
    ref = _ref(request)
    if request.form.get("active") != "yes":
        grants.revoke_access(key, ref)
        return _back(key, "revoked", ref)
    try:
        grants.grant_access(app.config, key, ref)
    except InvalidInput as exc:
        problem = grants.grant_problem(grants.get_grant(key, ref))
        expired = problem is not None and problem.code == "expired"
        message = Problem("expired_pick_date") if expired else Problem.not_saved(exc)
        return show_property(app, request, login, key, status=400, message=message)
    return _back(key, "reactivated", ref)


@dashboard_page
def set_expiry(app, request: Request, login, key: str) -> Response:
    """A new last day (empty: no expiry), as ``grant --expires`` / ``--no-expiry``."""
    ref = _ref(request)
    grants.get_grant(key, ref)  # 404 for a contact without a grant
    text = request.form.get("expires", "").strip()
    try:
        expires = grants.parse_date(text[:10]) if text else None
    except ValueError:
        return show_property(app, request, login, key, status=400, message=Problem("date_format"))
    try:
        grants.grant_access(app.config, key, ref, expires=expires)
    except InvalidInput as exc:
        return show_property(app, request, login, key, status=400, message=Problem.not_saved(exc))
    return _back(key, "saved", ref)


@dashboard_page
def add_contact(app, request: Request, login, key: str) -> Response:
    """Give an existing contact access, or create one first (``contact add`` + ``grant``).
    The first grant's WebDAV password is shown once, on this answer only."""
    properties.get_property(key)
    existing = request.form.get("existing", "")[:65]
    ref = existing or request.form.get("ref", "").strip()[:65]
    try:
        if not existing:
            email = request.form.get("email", "").strip()[:255] or None
            contacts.add_contact(ref, request.form.get("name", "")[:300], email)
        result = grants.grant_access(app.config, key, ref)
    except NotFound:
        return show_property(
            app, request, login, key, status=400, message=Problem("contact_unknown")
        )
    except AlreadyExists:
        return show_property(
            app, request, login, key, status=400, message=Problem("contact_exists")
        )
    except InvalidInput as exc:
        return show_property(app, request, login, key, status=400, message=Problem.not_saved(exc))
    if result.password is None:
        return _back(key, "granted", ref)
    return show_property(
        app, request, login, key, extra={"granted": result, "name": contacts.get_contact(ref).name}
    )


@dashboard_page
def send_invitation(app, request: Request, login, key: str) -> Response:
    """The "send invitation" button of one ``user-row``: the one place that hands the
    contact's invitation mail to the domain."""
    ref = _ref(request)
    grant = grants.get_live_grant(key, ref)  # 404 for a missing, revoked or expired grant
    try:
        invitations.send_invitation(app.config, grant)
    except InvalidInput as exc:  # no mail set up, or the contact has no address
        return show_property(app, request, login, key, status=409, message=Problem.not_saved(exc))
    return _back(key, "invited", ref)
