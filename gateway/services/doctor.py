"""``immoshare doctor``: which checks run, in which order, and the diagnosis.

It answers the two questions agents ask most, for a property, a contact or both:
"the immoCloud area is not shown" (no live grant, consent pending, the server or the
link's address not reachable) and "the immoCloud tracking delivers no data" (no
events, events stuck in journals, the tracking writer stalled, no API key, a CRM
that fell behind) — and checks the installation beneath: database and migrations,
``secret.key``, disk space, SMTP, sample consent texts, the file catalog — and whether
a shared property has its energy certificate marked.

Each check is a small function of a ``Checkup`` that returns findings
(``checks_home``, ``checks_sharing``, ``checks_tracking``); every finding says how
to fix it, with the exact command where there is one. Doctor only looks: it
changes nothing in the home.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from gateway.config import Config
from gateway.services.branding import check_branding
from gateway.services.checks_certificate import check_energy_certificate
from gateway.services.checks_home import (
    check_catalog,
    check_consent_texts,
    check_database,
    check_disk_space,
    check_link_base,
    check_migrations,
    check_secret_key,
    check_smtp,
)
from gateway.services.checks_sharing import (
    check_consent,
    check_contact_email,
    check_grants,
    check_invitations,
)
from gateway.services.checks_tracking import (
    check_api_keys,
    check_cursors,
    check_dead_journals,
    check_events,
    check_tracking_writer,
)
from gateway.services.checkup import ERROR, WARNING, Check, Checkup, Finding, Limits
from gateway.services.contacts import get_contact
from gateway.services.properties import get_property

__all__ = ["ERROR", "WARNING", "Diagnosis", "Finding", "Limits", "diagnose"]


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        """Nothing wrong: warnings only, or nothing at all."""
        return not any(f.severity == ERROR for f in self.findings)


#: Checks that need no database, run first.
HOME_CHECKS: tuple[Check, ...] = (check_secret_key, check_disk_space, check_link_base)
#: Whether the database answers and is current; the rest is skipped when not.
DATABASE_CHECKS: tuple[Check, ...] = (check_database, check_migrations)
#: Checks that read the database.
CHECKS: tuple[Check, ...] = (
    check_smtp,
    check_consent_texts,
    check_branding,
    check_catalog,
    check_grants,
    check_consent,
    check_contact_email,
    check_invitations,
    check_energy_certificate,
    check_events,
    check_dead_journals,
    check_tracking_writer,
    check_api_keys,
    check_cursors,
)


def diagnose(
    config: Config,
    *,
    property_key: str | None = None,
    contact_ref: str | None = None,
    limits: Limits | None = None,
) -> Diagnosis:
    """Run every check for the home of ``config``, about a property, a contact or both.

    Open the home with ``require_current=False``: pending migrations are a finding.

    :raises NotFound: the property or contact does not exist.
    """
    checkup = Checkup(config, property_key, contact_ref, limits or Limits())
    findings = _run(checkup, DATABASE_CHECKS, stop_at_error=True)
    if findings:
        return Diagnosis(_run(checkup, HOME_CHECKS) + findings)
    if property_key is not None:
        get_property(property_key)
    if contact_ref is not None:
        get_contact(contact_ref)
    return Diagnosis(_run(checkup, HOME_CHECKS) + _run(checkup, CHECKS))


def _run(checkup: Checkup, checks: Iterable[Check], *, stop_at_error=False) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks:
        found = check(checkup)
        findings += found
        if stop_at_error and any(f.severity == ERROR for f in found):
            break
    return findings
