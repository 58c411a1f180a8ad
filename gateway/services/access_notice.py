"""The notice in a contact's empty WebDAV drive: why nothing is there, and whom to call.

A contact whose consent is pending, or whose access was revoked or ran out, would
otherwise mount an empty drive with no word why. While no property is visible to
them, their read-only root holds one text file, :data:`NOTICE_NAME`, made on each
request from their grants (German first, then English). It is served, never stored,
and gone from the listing as soon as a share is visible again. It names a property's
title only where the contact may still open its link (consent pending); for access
that ended it names only whom to call, so nothing of the share itself is shown.
"""

from __future__ import annotations

from gateway.clock import utc_now
from gateway.models import Grant, Property
from gateway.services import branding
from gateway.services.contact_person import contact_person_of
from gateway.services.grant_rule import consent_missing, grant_is_live, has_consent

NOTICE_NAME = "LIESMICH.txt"


def no_access_notice(contact_id: int) -> str:
    """The notice text for the contact ``contact_id`` (CRLF line ends: Windows'
    Notepad is where most contacts will open it)."""
    today = utc_now().date()
    pending, ended = [], []
    grants = Grant.select(Grant, Property).join(Property).where(Grant.contact == contact_id)
    for grant in grants.order_by(Property.title):
        prop = grant.property
        if not grant_is_live(grant, today):
            ended.append(prop)
        elif consent_missing(prop.requires_consent, has_consent(grant)):
            pending.append(prop)
    agency = branding.agency_name() or "Ihr Makler / your agent"
    people = []
    for prop in ended:
        person = contact_person_of(prop)
        line = person.one_line() if person else agency
        if line not in people:
            people.append(line)
    german, english = ["Hinweis zu Ihrem Zugang", ""], ["About your access", ""]
    if pending:
        titles = ", ".join(f"„{p.title}“" for p in pending)
        german += [
            f"Für {titles} fehlt noch Ihre Bestätigung. Öffnen Sie bitte Ihren "
            "persönlichen Link aus unserer E-Mail im Browser und bestätigen Sie dort "
            "die Widerrufsbelehrung; danach erscheinen die Unterlagen hier.",
            "",
        ]
        english += [
            f"Your confirmation for {titles} is still missing. Please open your "
            "personal link from our e-mail in a browser and confirm the cancellation "
            "policy there; the documents then appear here.",
            "",
        ]
    if ended:
        german += ["Ihr Zugang zu Unterlagen ist beendet. Bei Fragen wenden Sie sich an:"]
        german += [f"  {line}" for line in people] + [""]
        english += ["Your access to documents has ended. For questions please contact:"]
        english += [f"  {line}" for line in people] + [""]
    if not pending and not ended:
        german += ["Zurzeit sind keine Unterlagen für Sie freigegeben.", ""]
        english += ["No documents are shared with you at the moment.", ""]
    german.append(f"– {agency}")
    return "\r\n".join(german + ["", "-" * 40, ""] + english) + "\r\n"
