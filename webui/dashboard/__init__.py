"""The agents' dashboard at ``/agent/``: sign in with the WebDAV login, the
properties (Objekte), one property with its documents and users, one contact with
their timeline, and the tracking views (README, "The agent's dashboard").

Every page and change calls the domain services the CLI calls; this package only
parses forms, checks the session and CSRF token (``session``) and renders.
``RULES`` is its part of the one route table (``webui.routes``).
"""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.utils import redirect

from webui.dashboard import contacts, links, properties, property_page, session, tracking

READ = ["GET", "HEAD"]
POST = ["POST"]
PROPERTY = links.PROPERTIES + "/<key>"


def home(app, request):
    return redirect(links.PROPERTIES, 303)


RULES = [
    Rule(links.HOME, endpoint=home, methods=READ),
    Rule(links.LOGIN, endpoint=session.login_page, methods=READ),
    Rule(links.LOGIN, endpoint=session.login_submit, methods=POST),
    Rule(links.LOGOUT, endpoint=session.logout, methods=POST),
    Rule(links.PROPERTIES, endpoint=properties.properties_page, methods=READ),
    Rule(links.PROPERTIES, endpoint=properties.create_property, methods=POST),
    Rule(PROPERTY, endpoint=property_page.property_page, methods=READ),
    Rule(PROPERTY + "/edit", endpoint=properties.update_property, methods=POST),
    Rule(PROPERTY + "/active", endpoint=property_page.set_active, methods=POST),
    Rule(PROPERTY + "/expiry", endpoint=property_page.set_expiry, methods=POST),
    Rule(PROPERTY + "/grant", endpoint=property_page.add_contact, methods=POST),
    Rule(PROPERTY + "/invite", endpoint=property_page.send_invitation, methods=POST),
    Rule(links.ROOT + "/contacts/<path:ref>", endpoint=contacts.contact_page, methods=READ),
    Rule(links.ROOT + "/report/<key>/<path:ref>", endpoint=contacts.report_pdf, methods=READ),
    Rule(links.ROOT + "/export/<path:ref>", endpoint=contacts.contact_export, methods=READ),
    Rule(links.TRACKING, endpoint=tracking.tracking_page, methods=READ),
    Rule(links.TRACKING_CSV, endpoint=tracking.tracking_csv, methods=READ),
]
