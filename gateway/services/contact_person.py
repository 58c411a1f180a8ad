"""The person contacts call about a property: name, phone, e-mail.

Shown on the property's share and consent pages, on every error page of its links
(a buyer told "Link nicht gültig" must know whom to call), and in the WebDAV notice of
a contact whose access ended. Without one, the agency's name stands in.
"""

from __future__ import annotations

import dataclasses
import re

from gateway.db import database
from gateway.errors import InvalidInput
from gateway.models import Property
from gateway.services import contacts
from gateway.services.properties import get_property

NAME_LENGTH = 200
PHONE = re.compile(r"^\+?[0-9][0-9 ()/.-]{2,40}$")


@dataclasses.dataclass(frozen=True)
class ContactPerson:
    name: str
    phone: str | None
    email: str | None

    def one_line(self) -> str:
        """``Anna Agent, Tel. +49 911 1234, anna@example.de``."""
        parts = [self.name]
        if self.phone:
            parts.append(f"Tel. {self.phone}")
        if self.email:
            parts.append(self.email)
        return ", ".join(parts)


def check_phone(phone: str) -> str:
    """:raises InvalidInput: not a phone number as people write them."""
    phone = " ".join(phone.split())
    if not PHONE.match(phone):
        raise InvalidInput(f"invalid phone number {phone[:40]!r}: digits, spaces, + ( ) / . -")
    return phone


def set_contact_person(
    key: str, name: str | None, phone: str | None = None, email: str | None = None
) -> Property:
    """Name the property's contact person; an empty ``name`` removes it.

    :raises NotFound: no such property. :raises InvalidInput: a bad phone or e-mail,
        or a phone or e-mail without a name.
    """
    prop = get_property(key)
    name = (name or "").strip()
    if not name:
        if phone or email:
            raise InvalidInput("a phone number or e-mail needs the contact person's name")
        values = {"contact_name": None, "contact_phone": None, "contact_email": None}
    else:
        if len(name) > NAME_LENGTH:
            raise InvalidInput(f"the name is longer than {NAME_LENGTH} characters")
        values = {
            "contact_name": name,
            "contact_phone": check_phone(phone) if phone else None,
            "contact_email": contacts.validate_email(email) if email else None,
        }
    with database.atomic():
        Property.update(**values).where(Property.id == prop.id).execute()
    return get_property(key)


def contact_person_of(prop: Property) -> ContactPerson | None:
    if not prop.contact_name:
        return None
    return ContactPerson(prop.contact_name, prop.contact_phone, prop.contact_email)
