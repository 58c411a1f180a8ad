"""Properties (Objekte): the record and its storage folder ``properties/<key>/``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from gateway.config import Config
from gateway.db import database
from gateway.errors import AlreadyExists, InvalidInput, NotFound
from gateway.models import Property
from gateway.security import derive_token, hash_token, link_secret, new_nonce

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


def add_property(
    config: Config, key: str, title: str, *, requires_consent: bool = True
) -> Property:
    """Create the property and its folder; nothing is left behind on failure.

    :raises InvalidInput: bad key or empty title.
    :raises AlreadyExists: the key is taken.
    """
    validate_key(key)
    if not title.strip():
        raise InvalidInput("the title is empty")
    folder = storage_folder(config, key)
    with database.atomic():
        if Property.get_or_none(Property.key == key):
            raise AlreadyExists(f"property '{key}' exists already — see `immoshare property list`")
        nonce = new_nonce()
        token = derive_token(link_secret(config), "preview", nonce)
        prop = Property.create(
            key=key,
            title=title.strip(),
            requires_consent=requires_consent,
            preview_nonce=nonce,
            preview_token_hash=hash_token(token),
        )
        folder.mkdir(parents=True, exist_ok=True)
    return prop


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
