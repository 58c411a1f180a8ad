"""Properties (Objekte): the record and its storage folder ``properties/<key>/``.

Every rule on a property's fields lives here, so that ``property add``/``set``, the
provisioning API and the dashboard accept exactly the same values.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import peewee

from gateway.config import Config
from gateway.db import database
from gateway.errors import AlreadyExists, InvalidInput, NotFound
from gateway.models import Property
from gateway.security import derive_token, hash_token, link_secret, new_nonce
from gateway.text import one_line

TITLE_LENGTH = Property.title.max_length
PROPERTY_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


def validate_key(key: str) -> str:
    """:raises InvalidInput: not 1–64 of letters, digits, '-', '_', '.', or starts with '.'."""
    if not PROPERTY_KEY.match(key):
        raise InvalidInput(
            f"invalid property key {key!r}: 1–64 letters, digits, '-', '_', '.', "
            "not starting with '.'"
        )
    return key


def storage_folder(config: Config, key: str) -> Path:
    return config.properties_dir / key


def validate_title(title: str) -> str:
    """The title as stored (stripped). :raises InvalidInput: empty, too long or not one line."""
    return one_line(title, "title", TITLE_LENGTH)


def add_property(
    config: Config, key: str, title: str, *, requires_consent: bool = True
) -> Property:
    """Create the property and its folder; nothing is left behind on failure.

    :raises InvalidInput: bad key or title.
    :raises AlreadyExists: the key is taken.
    """
    prop, created = provide_property(config, key, title, requires_consent=requires_consent)
    if not created:
        raise _taken(key)
    return prop


def provide_property(
    config: Config, key: str, title: str, *, requires_consent: bool = True
) -> tuple[Property, bool]:
    """Create the property, or find it when it exists with exactly these values: a
    create repeated by a CRM changes nothing. Returns the property and whether it was
    created now.

    :raises InvalidInput: bad key or title.
    :raises AlreadyExists: the key is taken by a property with other values.
    """
    validate_key(key)
    title = validate_title(title)
    folder = storage_folder(config, key)
    with database.atomic():
        existing = Property.get_or_none(Property.key == key)
        if existing is None:
            nonce = new_nonce()
            token = derive_token(link_secret(config), "preview", nonce)
            try:
                with database.atomic():
                    prop = Property.create(
                        key=key,
                        title=title,
                        requires_consent=requires_consent,
                        preview_nonce=nonce,
                        preview_token_hash=hash_token(token),
                    )
            except peewee.IntegrityError:
                # The same create running at the same moment won; judge its row.
                existing = Property.get(Property.key == key)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                return prop, True
        if (existing.title, existing.requires_consent) != (title, requires_consent):
            raise _taken(key, differently=True)
        return existing, False


def _taken(key: str, *, differently: bool = False) -> AlreadyExists:
    other = " with another title or consent setting" if differently else ""
    return AlreadyExists(
        f"property '{key}' exists already{other} — see `immoshare property show {key}`"
    )


def update_property(
    key: str, *, title: str | None = None, requires_consent: bool | None = None
) -> tuple[Property, list[str]]:
    """Change the title and/or whether contacts consent first; ``None`` keeps a field.
    Returns the property and the names of the fields that changed (empty: none did).

    Turning consent on asks every contact who has not consented yet at their next
    visit; consents already given stay valid.

    :raises NotFound: no such property. :raises InvalidInput: bad title.
    """
    wanted = {}
    if title is not None:
        wanted["title"] = validate_title(title)
    if requires_consent is not None:
        wanted["requires_consent"] = bool(requires_consent)
    with database.atomic():
        prop = get_property(key)
        changed = [name for name, value in wanted.items() if getattr(prop, name) != value]
        for name in changed:
            setattr(prop, name, wanted[name])
        if changed:
            prop.save(only=[getattr(Property, name) for name in changed])
    return prop, changed


def get_property(key: str) -> Property:
    """:raises NotFound: no such property."""
    prop = Property.get_or_none(Property.key == key)
    if prop is None:
        raise NotFound(f"property '{key}' not found — see `immoshare property list`")
    return prop


def list_properties() -> list[Property]:
    return list(Property.select().order_by(Property.key))


def remove_property(config: Config, key: str, *, delete_files: bool = False) -> None:
    """Remove the record and its grants; the folder only with ``delete_files``.

    :raises NotFound: no such property.
    """
    prop = get_property(key)
    with database.atomic():
        prop.delete_instance(recursive=True)
    if delete_files:
        shutil.rmtree(storage_folder(config, key), ignore_errors=True)
