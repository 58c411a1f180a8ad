"""Whether a consent's confirmation can reach the contact on a durable medium.

Without the confirmation mail, the agent cannot prove that the contact received the
Widerrufsbelehrung (BGH I ZR 169/19). So with ``consent_requires_mail`` (the
default) a consent is accepted only when the mail can be sent: mail is set up and
the contact has an address. ``grant`` refuses a contact without an address on a
property that asks for consent, the consent page refuses while the mail cannot go
out, and ``doctor`` reports both; every one of them asks :func:`mail_blocker`.
"""

from __future__ import annotations

from gateway.config import Config
from gateway.errors import InvalidInput
from gateway.models import ConsentRecord, Contact, Grant, Property
from gateway.services import mail_transport, outbox

#: Why a confirmation cannot be mailed.
MAIL_NOT_CONFIGURED = "mail_not_configured"
NO_ADDRESS = "no_address"


def mail_blocker(config: Config, contact: Contact) -> str | None:
    """Why ``contact``'s confirmation cannot be mailed (:data:`MAIL_NOT_CONFIGURED`,
    :data:`NO_ADDRESS`), or None when it can."""
    if not mail_transport.mail_configured(config):
        return MAIL_NOT_CONFIGURED
    if not contact.email:
        return NO_ADDRESS
    return None


def consent_blocker(config: Config, contact: Contact) -> str | None:
    """Why a consent of ``contact`` must be refused now, or None: only while
    ``consent_requires_mail`` is set, and the mail cannot go out."""
    if not config.consent_requires_mail:
        return None
    return mail_blocker(config, contact)


def require_address_for_consent(config: Config, prop: Property, contact: Contact) -> None:
    """A grant on a property that asks for consent needs a contact the confirmation
    can be mailed to.

    :raises InvalidInput: consent is required and mailed, and the contact has no address.
    """
    if prop.requires_consent and config.consent_requires_mail and not contact.email:
        raise InvalidInput(
            f"contact '{contact.ref}' has no e-mail address, but '{prop.key}' asks for "
            "consent, whose confirmation is mailed — add it with "
            f"`immoshare contact set {contact.ref} --email ADDRESS`"
        )


def masked_address(address: str) -> str:
    """An address as a page may show it to whoever holds the link: the first letter
    of the mailbox, then ``***``, and the domain (``e***@example.de``)."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address[:1] + "***"
    return f"{local[:1]}***@{domain}"


def confirmation_address(grant: Grant) -> str | None:
    """Where the consent confirmation of ``grant`` is mailed, masked for the page; None
    when there is no consent yet or no confirmation is mailed for it."""
    record = ConsentRecord.get_or_none(ConsentRecord.grant == grant)
    address = grant.contact.email
    if record is None or record.mail_state == outbox.NONE or not address:
        return None
    return masked_address(address)
