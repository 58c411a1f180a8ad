"""When a grant opens its property to the contact: the one rule, in Python and in SQL.

A grant is **live** while it is active (not revoked) and not past its expiry date (the
expiry day itself still counts). A live grant **opens** its property when the property
asks no consent, or the contact has given it (a ``ConsentRecord`` exists). The rule is
written twice here on purpose and nowhere else: as Python predicates for a grant already
loaded, and as peewee expressions for the queries that run on every WebDAV and
personal-page request. ``tests/test_grant_rule.py`` checks that both agree.

The SQL builders take ``today`` as a parameter of the query: callers that build the
SQL text once (``gateway.services.access``) pass the day again on every execution, in
the order of :func:`live_sql` (``True``, ``today``) then :func:`consent_satisfied_sql`
(``False``).
"""

from __future__ import annotations

import datetime

import peewee

from gateway.clock import utc_now
from gateway.models import ConsentRecord, Grant, Property

# -- Python, for a grant already in hand ---------------------------------------------


def grant_is_live(grant: Grant, today: datetime.date | None = None) -> bool:
    """Active and not past its expiry date (the expiry day itself still counts)."""
    today = today or utc_now().date()
    return grant.active and (grant.expires is None or grant.expires >= today)


def consent_missing(requires_consent: bool, consented: bool) -> bool:
    """The property asks for consent and it has not been given."""
    return requires_consent and not consented


def has_consent(grant: Grant) -> bool:
    """The contact has accepted the consent form for this grant (one query)."""
    return ConsentRecord.select().where(ConsentRecord.grant == grant).exists()


def needs_consent(grant: Grant) -> bool:
    """The property asks for consent and this grant has not given it."""
    return grant.property.requires_consent and not has_consent(grant)


def grant_opens(grant: Grant, consented: bool, today: datetime.date | None = None) -> bool:
    """Live, and consented where the property asks for it; ``consented`` says whether a
    consent record exists (callers that hold many grants ask once for all)."""
    return grant_is_live(grant, today) and not consent_missing(
        grant.property.requires_consent, consented
    )


# -- SQL, for the queries over Grant joined with Property ----------------------------


def live_sql(today: datetime.date):
    """:func:`grant_is_live` as a peewee expression over ``Grant``."""
    return (Grant.active == True) & (  # noqa: E712
        Grant.expires.is_null() | (Grant.expires >= today)
    )


def consent_given_sql():
    """:func:`has_consent` as a correlated ``EXISTS`` over ``Grant``."""
    return peewee.fn.EXISTS(
        ConsentRecord.select(ConsentRecord.id).where(ConsentRecord.grant == Grant.id)
    )


def consent_satisfied_sql():
    """``not consent_missing(...)`` over ``Grant`` joined with ``Property``."""
    return (Property.requires_consent == False) | consent_given_sql()  # noqa: E712


def grant_opens_sql(today: datetime.date):
    """:func:`grant_opens` over ``Grant`` joined with ``Property``."""
    return live_sql(today) & consent_satisfied_sql()
