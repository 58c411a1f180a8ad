"""Contacts (the CRM's Adressen): add, list, look up."""

from __future__ import annotations

import re

from gateway.db import database
from gateway.errors import AlreadyExists, InvalidInput, NotFound
from gateway.models import Contact

CONTACT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def add_contact(ref: str, name: str, email: str | None = None) -> Contact:
    """:raises InvalidInput: bad ref, empty name or malformed e-mail.
    :raises AlreadyExists: the ref is taken."""
    if not CONTACT_REF.match(ref):
        raise InvalidInput(
            f"invalid contact ref {ref!r}: letters, digits, '.', '_', '/', '-', up to 64"
        )
    if not name.strip():
        raise InvalidInput("the name is empty")
    if email is not None and not EMAIL.match(email):
        raise InvalidInput(f"invalid e-mail address {email!r}")
    with database.atomic():
        if Contact.get_or_none(Contact.ref == ref):
            raise AlreadyExists(f"contact '{ref}' exists already — see `immoshare contact list`")
        return Contact.create(ref=ref, name=name.strip(), email=email)


def get_contact(ref: str) -> Contact:
    """:raises NotFound: no such contact."""
    contact = Contact.get_or_none(Contact.ref == ref)
    if contact is None:
        raise NotFound(f"contact '{ref}' not found — see `immoshare contact list`")
    return contact


def list_contacts() -> list[Contact]:
    return list(Contact.select().order_by(Contact.ref))
