"""Contacts (the CRM's Adressen): add, change, list, look up.

Every rule on a contact's fields lives here, so that ``contact add``/``set``, the
provisioning API and the dashboard accept exactly the same values.
"""

from __future__ import annotations

import re

import peewee

from gateway.db import database
from gateway.errors import AccessDenied, AlreadyExists, InvalidInput, NotFound
from gateway.models import Contact
from gateway.text import one_line

CONTACT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
NAME_LENGTH = Contact.name.max_length
EMAIL_LENGTH = Contact.email.max_length


def validate_ref(ref: str) -> str:
    """:raises InvalidInput: not 1–64 of letters, digits, '.', '_', '/', '-'."""
    if not CONTACT_REF.fullmatch(ref):
        raise InvalidInput(
            f"invalid contact ref {ref!r}: letters, digits, '.', '_', '/', '-', up to 64"
        )
    return ref


def validate_name(name: str) -> str:
    """The name as stored (stripped). :raises InvalidInput: empty, too long, not one line."""
    return one_line(name, "name", NAME_LENGTH)


def validate_email(email: str) -> str:
    """The address as stored (stripped). :raises InvalidInput: not one plausible address."""
    try:
        address = one_line(email, "e-mail address", EMAIL_LENGTH)
    except InvalidInput as exc:
        raise InvalidInput(f"invalid e-mail address: {exc}") from None
    if not EMAIL.fullmatch(address):
        raise InvalidInput(f"invalid e-mail address {address[:80]!r}")
    return address


def add_contact(ref: str, name: str, email: str | None = None) -> Contact:
    """:raises InvalidInput: bad ref, empty name or malformed e-mail.
    :raises AlreadyExists: the ref is taken."""
    contact, created = provide_contact(ref, name, email)
    if not created:
        raise _taken(ref)
    return contact


def provide_contact(ref: str, name: str, email: str | None = None) -> tuple[Contact, bool]:
    """Create the contact, or find it when it exists with exactly these values: a
    create repeated by a CRM changes nothing. Returns the contact and whether it was
    created now.

    :raises InvalidInput: bad ref, name or e-mail.
    :raises AlreadyExists: the ref is taken by a contact with another name or e-mail.
    """
    validate_ref(ref)
    name = validate_name(name)
    email = None if email is None else validate_email(email)
    with database.atomic():
        existing = Contact.get_or_none(Contact.ref == ref)
        if existing is None:
            try:
                with database.atomic():
                    return Contact.create(ref=ref, name=name, email=email), True
            except peewee.IntegrityError:
                # The same create running at the same moment won; judge its row.
                existing = Contact.get(Contact.ref == ref)
        if (existing.name, existing.email) != (name, email):
            raise _taken(ref, differently=True)
        return existing, False


def _taken(ref: str, *, differently: bool = False) -> AlreadyExists:
    other = " with another name or e-mail address" if differently else ""
    return AlreadyExists(f"contact '{ref}' exists already{other} — see `immoshare contact list`")


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

    :raises NotFound: no such contact. :raises InvalidInput: bad name or e-mail.
    """
    return change_contact(ref, name=name, email=email)[0]


def change_contact(
    ref: str, *, name: str | None = None, email: str | None = None
) -> tuple[Contact, list[str]]:
    """Like :func:`update_contact`, and also the names of the fields that changed.

    :raises NotFound: no such contact. :raises InvalidInput: bad name or e-mail.
    """
    wanted = {}
    if name is not None:
        wanted["name"] = validate_name(name)
    if email is not None:
        wanted["email"] = validate_email(email)
    with database.atomic():
        contact = get_contact(ref)
        refuse_held(contact)
        changed = [field for field, value in wanted.items() if getattr(contact, field) != value]
        for field in changed:
            setattr(contact, field, wanted[field])
        if changed:
            contact.save(only=[getattr(Contact, field) for field in changed])
    return contact, changed
