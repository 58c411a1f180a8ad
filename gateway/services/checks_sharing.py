"""Checks for "the immoCloud area is not shown": is there a live grant, has the
contact consented where the property asks for it, did the confirmation e-mail and
the invitation go out, does the contact have an address for it.
"""

from __future__ import annotations

from gateway.models import ConsentRecord, Contact, Grant, Property
from gateway.services import grant_rule, grants, outbox
from gateway.services.checkup import ERROR, WARNING, Checkup, Finding, error, grant_subject


def _grants_in_scope(checkup: Checkup) -> list[Grant]:
    query = Grant.select(Grant, Property, Contact).join(Property).switch(Grant).join(Contact)
    if checkup.property_key is not None:
        query = query.where(Property.key == checkup.property_key)
    if checkup.contact_ref is not None:
        query = query.where(Contact.ref == checkup.contact_ref)
    return list(query.order_by(Property.key, Contact.ref))


def check_grants(checkup: Checkup) -> list[Finding]:
    """A grant is missing, revoked or expired. Named as a pair, that is the answer
    (an error); found while looking at all grants of a property or contact, a
    revoked or expired grant is most likely meant so (a warning)."""
    key, ref = checkup.property_key, checkup.contact_ref
    if key is None and ref is None:
        return []
    found = _grants_in_scope(checkup)
    if not found:
        return [_missing_grant(checkup, key, ref)]
    severity = ERROR if key is not None and ref is not None else WARNING
    findings = []
    for grant in found:
        problem = grants.grant_problem(grant)
        if problem is not None:
            findings.append(
                Finding(
                    severity,
                    f"grant_{problem.code}",
                    grant_subject(grant),
                    f"{problem.reason}: the link shows the 'no longer valid' page and the "
                    "WebDAV login sees nothing of the property",
                    f"`{checkup.command(problem.command)}` {problem.effect}",
                )
            )
    if severity == WARNING and len(findings) == len(found):
        findings.append(_missing_grant(checkup, key, ref, live=True))
    return findings


def _missing_grant(checkup: Checkup, key, ref, *, live: bool = False) -> Finding:
    adjective = "live " if live else ""
    if key is not None and ref is not None:
        message = f"contact '{ref}' has no grant for property '{key}'"
        subject = f"grant {key} {ref}"
    elif key is not None:
        message = f"no contact has a {adjective}grant for property '{key}'"
        subject, ref = f"property {key}", "REF"
    else:
        message = f"contact '{ref}' has no {adjective}grant for any property"
        subject, key = f"contact {ref}", "PROPERTY"
    return error(
        "grant_missing",
        subject,
        message + ": there is no link, and the WebDAV login shows nothing",
        f"`{checkup.command(f'grant {key} {ref}')}` prints the link",
    )


def check_consent(checkup: Checkup) -> list[Finding]:
    """Live grants of properties that ask for consent: given, and its mail sent."""
    findings = []
    for grant in _grants_in_scope(checkup):
        if not grant.property.requires_consent or not grant_rule.grant_is_live(grant):
            continue
        key, ref = grant.property.key, grant.contact.ref
        record = ConsentRecord.get_or_none(ConsentRecord.grant == grant)
        if record is None:
            findings.append(
                error(
                    "consent_pending",
                    grant_subject(grant),
                    f"contact '{ref}' has not accepted the Widerrufsbelehrung for '{key}' "
                    "yet: their page shows the consent form, their WebDAV login shows "
                    "nothing of the property until then",
                    "only the contact can accept it, on their page: send them the link "
                    f"again (`{checkup.command(f'link {key} {ref}')}`)",
                )
            )
        elif record.mail_state in ("failed", "retrying"):
            gave_up = record.mail_state == "failed"
            findings.append(
                Finding(
                    ERROR if gave_up else WARNING,
                    "confirmation_mail_failed" if gave_up else "confirmation_mail_retrying",
                    grant_subject(grant),
                    f"the confirmation e-mail to contact '{ref}' about the consent for '{key}' "
                    + ("could not be sent" if gave_up else "has not gone out yet, retrying")
                    + f" ({record.mail_attempts} attempt(s); {record.mail_error or 'no error'})",
                    f"check the smtp_* settings in {checkup.settings_file} and the address "
                    f"(`{checkup.command(f'contact set {ref} --email ADDRESS')}`); "
                    "the contact keeps access meanwhile",
                )
            )
    return findings


def check_contact_email(checkup: Checkup) -> list[Finding]:
    """Contacts of a property that asks for consent need an address for the mail."""
    if checkup.property_key is None and checkup.contact_ref is None:
        return []
    findings = []
    seen = set()
    for grant in _grants_in_scope(checkup):
        contact = grant.contact
        if not grant.property.requires_consent or contact.email or contact.ref in seen:
            continue
        seen.add(contact.ref)
        findings.append(
            error(
                "contact_email_missing",
                f"contact {contact.ref}",
                f"contact '{contact.ref}' has no e-mail address, but '{grant.property.key}' "
                "asks for consent: the confirmation e-mail cannot be sent",
                f"`{checkup.command(f'contact set {contact.ref} --email ADDRESS')}`",
            )
        )
    return findings


def check_invitations(checkup: Checkup) -> list[Finding]:
    """The newest invitation of a live grant has not gone out (yet)."""
    findings = []
    for grant in _grants_in_scope(checkup):
        mail = outbox.latest_mail(outbox.INVITATION, grant)
        if mail is None or mail.mail_state not in (outbox.RETRYING, outbox.FAILED):
            continue
        if not grant_rule.grant_is_live(grant):
            continue
        key, ref = grant.property.key, grant.contact.ref
        gave_up = mail.mail_state == outbox.FAILED
        findings.append(
            Finding(
                ERROR if gave_up else WARNING,
                "invitation_failed" if gave_up else "invitation_retrying",
                grant_subject(grant),
                f"the invitation to contact '{ref}' for '{key}' ({mail.recipient}) "
                + ("could not be sent" if gave_up else "has not gone out yet, retrying")
                + f" ({mail.mail_attempts} attempt(s); {mail.mail_error or 'no error'})",
                f"check the smtp_* settings in {checkup.settings_file} and the address, "
                f"then send it again: `{checkup.command(f'grant {key} {ref} --send')}`",
            )
        )
    return findings
