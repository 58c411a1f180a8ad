"""Contacts (the CRM's Adressen): add, change, list, look up."""

from __future__ import annotations

import re

from gateway.db import database
from gateway.errors import AccessDenied, AlreadyExists, InvalidInput, NotFound
from gateway.models import Contact

CONTACT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
NAME_LENGTH = Contact.name.max_length
EMAIL_LENGTH = Contact.email.max_length


def _check_name(name: str) -> str:
    if not name.strip():
        raise InvalidInput("the name is empty")
    if len(name.strip()) > NAME_LENGTH:
        raise InvalidInput(f"the name is longer than {NAME_LENGTH} characters")
    return name.strip()


def _check_email(email: str) -> str:
    if len(email) > EMAIL_LENGTH or not EMAIL.match(email):
        raise InvalidInput(f"invalid e-mail address {email[:80]!r}")
    return email


def add_contact(ref: str, name: str, email: str | None = None) -> Contact:
    """:raises InvalidInput: bad ref, empty name or malformed e-mail.
    :raises AlreadyExists: the ref is taken."""
    if not CONTACT_REF.match(ref):
        raise InvalidInput(
            f"invalid contact ref {ref!r}: letters, digits, '.', '_', '/', '-', up to 64"
        )
    name = _check_name(name)
    if email is not None:
        _check_email(email)
    with database.atomic():
        if Contact.get_or_none(Contact.ref == ref):
            raise AlreadyExists(f"contact '{ref}' exists already — see `immoshare contact list`")
        return Contact.create(ref=ref, name=name, email=email)


def get_contact(ref: str) -> Contact:
    """:raises NotFound: no such contact."""
    contact = Contact.get_or_none(Contact.ref == ref)
    if contact is None:
        raise NotFound(f"contact '{ref}' not found — see `immoshare contact list`")
    return contact


def refuse_held(contact: Contact) -> None:
    """:raises AccessDenied: ``contact`` was erased and only its consent evidence is
    kept under a legal hold (``services/privacy``): it gets no access, no changes."""
    if contact.held_until is not None:
        raise AccessDenied(
            f"contact '{contact.ref}' was erased; only its consent evidence is kept, until "
            f"{contact.held_until.isoformat()} (`immoshare contact erase {contact.ref} "
            "--include-evidence` erases it now)"
        )


def list_contacts() -> list[Contact]:
    return list(Contact.select().order_by(Contact.ref))


def update_contact(ref: str, *, name: str | None = None, email: str | None = None) -> Contact:
    """Change the name and/or e-mail address of a contact; ``None`` keeps a field.

    :raises NotFound: no such contact. :raises InvalidInput: empty name or bad e-mail.
    """
    changes = {}
    if name is not None:
        changes["name"] = _check_name(name)
    if email is not None:
        changes["email"] = _check_email(email)
    with database.atomic():
        contact = get_contact(ref)
        refuse_held(contact)
        for field, value in changes.items():
            setattr(contact, field, value)
        if changes:
            contact.save()
    return contact
