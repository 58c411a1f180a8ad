"""Check for the energy certificate: a property shown to contacts must hand it over
(GEG § 80 (4)), so one with live grants needs it marked, and the marked file must
still be there (``services/energy_certificate``).
"""

from __future__ import annotations

import shlex

from gateway.models import Contact, Grant, Property
from gateway.services import grant_rule
from gateway.services.checkup import Checkup, Finding, warning
from gateway.services.energy_certificate import certificate_is_there, propose_certificate


def _properties_with_live_grants(checkup: Checkup) -> list[Property]:
    query = Grant.select(Grant, Property, Contact).join(Property).switch(Grant).join(Contact)
    if checkup.property_key is not None:
        query = query.where(Property.key == checkup.property_key)
    if checkup.contact_ref is not None:
        query = query.where(Contact.ref == checkup.contact_ref)
    found = {g.property.key: g.property for g in query if grant_rule.grant_is_live(g)}
    return [found[key] for key in sorted(found)]


def check_energy_certificate(checkup: Checkup) -> list[Finding]:
    """Properties with live grants and no energy certificate, or a marked one that
    is gone; the fix proposes a file named like one ("Energieausweis")."""
    findings = []
    for prop in _properties_with_live_grants(checkup):
        if prop.energy_certificate and certificate_is_there(checkup.config, prop):
            continue
        proposal = propose_certificate(checkup.config, prop.key)
        path = shlex.quote(proposal) if proposal else "PATH"
        fix = f"`{checkup.command(f'property set {prop.key} --energy-certificate {path}')}`"
        if proposal is None:
            fix = f"put the energy certificate into the folder of '{prop.key}', then {fix}"
        if prop.energy_certificate:
            code = "energy_certificate_gone"
            message = (
                f"the energy certificate of '{prop.key}' ({prop.energy_certificate}) is no "
                "longer in its folder: contacts cannot receive it"
            )
        else:
            code = "energy_certificate_missing"
            message = (
                f"property '{prop.key}' is shared with contacts but has no energy "
                "certificate marked: nothing shows whether they received it (GEG § 80 (4))"
            )
        findings.append(warning(code, f"property {prop.key}", message, fix))
    return findings
