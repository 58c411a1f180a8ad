"""The energy certificate (Energieausweis) of a property, and whether each contact
received it.

GEG § 80 (4) obliges the agent to hand the certificate over; fines follow from
§ 108 GEG. The agent marks one file of the property as the certificate
(``property set KEY --energy-certificate PATH``); a contact received it once the
whole file reached them: a download that went out complete, or the file opened in
the browser's viewer as a whole, or range reads that together covered it (folded as
in ``services/reports``). A range read of part of it, say one byte, is no delivery.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from gateway.clock import iso
from gateway.config import Config
from gateway.errors import InvalidInput
from gateway.models import AccessEvent, Property
from gateway.services import catalog
from gateway.services.properties import get_property, storage_folder
from gateway.services.reports import FILE_ACTIONS, fold
from gateway.shares import confine, is_hidden_from_contacts, is_served_file, split_share_path

#: What a file name or folder holds to be proposed as the certificate (case ignored).
PROPOSAL_WORD = "energieausweis"
#: Entries looked at when searching a property folder for a proposal.
PROPOSAL_SCAN_LIMIT = 20_000
MAX_PATH_LENGTH = 1024


def certificate_path(config: Config, key: str, path: str) -> str:
    """``path`` as the share path of a file contacts of ``key`` can get, by the share
    rules (``gateway.shares``): inside the property, no link on the way, no name
    the share hides from contacts, a regular file with one link.

    :raises InvalidInput: anything else, with the reason.
    """
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidInput(f"the path is longer than {MAX_PATH_LENGTH} characters")
    parts = split_share_path(path.replace(os.sep, "/"))
    if not parts:
        raise InvalidInput(f"{path!r} is not a file path inside property '{key}'")
    shown = "/".join(parts)
    if any(is_hidden_from_contacts(part) for part in parts):
        raise InvalidInput(f"'{shown}' is hidden from contacts, so it cannot be the certificate")
    absolute = confine(storage_folder(config, key), parts)
    if absolute is None:
        raise InvalidInput(f"'{shown}' leads outside property '{key}'")
    try:
        info = os.lstat(absolute)
    except OSError:
        raise InvalidInput(
            f"'{shown}' is not in property '{key}' — put the file into its folder first"
        ) from None
    if not is_served_file(info):
        raise InvalidInput(f"'{shown}' is not a file contacts of '{key}' can get")
    return shown


def set_energy_certificate(config: Config, key: str, path: str | None) -> Property:
    """Mark ``path`` as the energy certificate of ``key``, or clear it with None.

    :raises NotFound: no such property.
    :raises InvalidInput: see :func:`certificate_path`.
    """
    prop = get_property(key)
    prop.energy_certificate = None if path is None else certificate_path(config, key, path)
    prop.save()
    return prop


def energy_certificate_delivery(prop: Property | str, contact_ref: str) -> datetime.datetime | None:
    """When contact ``contact_ref`` first received the whole energy certificate of
    ``prop`` (see the module docstring); None if not (yet), or none is marked."""
    delivery = _first_delivery(prop, contact_ref)
    return None if delivery is None else delivery[0]


def certificate_facts(config: Config, key: str, contact_ref: str) -> dict | None:
    """The certificate's delivery to one contact, for the Nachweis: ``{"path",
    "sha256", "delivered", "delivered_at"}`` (the version delivered, else the one on
    disk now); None while ``key`` has no certificate marked."""
    prop = get_property(key)
    if not prop.energy_certificate:
        return None
    delivery = _first_delivery(prop, contact_ref)
    if delivery is None:
        sha256 = catalog.file_version(config, key, prop.energy_certificate)
    else:
        sha256 = delivery[1]
    return {
        "path": prop.energy_certificate,
        "sha256": sha256,
        "delivered": delivery is not None,
        "delivered_at": None if delivery is None else iso(delivery[0]),
    }


def _first_delivery(
    prop: Property | str, contact_ref: str
) -> tuple[datetime.datetime, str | None] | None:
    """Time and version of the first complete access to the certificate."""
    if isinstance(prop, str):
        prop = get_property(prop)
    if not prop.energy_certificate:
        return None
    events = list(
        AccessEvent.select()
        .where(
            (AccessEvent.property == prop.key)
            & (AccessEvent.contact == contact_ref)
            & (AccessEvent.path == prop.energy_certificate)
            & AccessEvent.action.in_(FILE_ACTIONS)
        )
        .order_by(AccessEvent.id)
    )
    by_channel: dict[str, list[AccessEvent]] = {}
    for event in events:
        by_channel.setdefault(event.channel, []).append(event)
    delivered = [
        (_aware(access.last), access.sha256)
        for channel_events in by_channel.values()
        for access in fold(channel_events)
        if access.complete
    ]
    return min(delivered, default=None, key=lambda pair: pair[0])


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def certificate_is_there(config: Config, prop: Property) -> bool:
    """The marked certificate is still a file contacts can get."""
    try:
        certificate_path(config, prop.key, prop.energy_certificate or "")
    except InvalidInput:
        return False
    return True


def propose_certificate(config: Config, key: str) -> str | None:
    """A file of ``key`` whose name or folder says "Energieausweis" (case ignored),
    the first by path; None if there is none (within ``PROPOSAL_SCAN_LIMIT`` entries)."""
    root = Path(os.path.realpath(storage_folder(config, key)))
    found, seen = [], 0
    for folder, dirs, files in os.walk(root):  # links to folders are not followed
        dirs[:] = sorted(d for d in dirs if not is_hidden_from_contacts(d))
        relative = Path(folder).relative_to(root)
        for name in sorted(files):
            seen += 1
            if seen > PROPOSAL_SCAN_LIMIT:
                return min(found, default=None)
            path = (relative / name).as_posix()
            if is_hidden_from_contacts(name) or PROPOSAL_WORD not in path.casefold():
                continue
            try:
                if is_served_file(os.lstat(os.path.join(folder, name))):
                    found.append(path)
            except OSError:
                continue
    return min(found, default=None)
