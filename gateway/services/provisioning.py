"""Granting as a CRM asks for it: one grant, optionally with the invitation mail.

The provisioning API (and any other adapter that offers ``send``) calls
:func:`provide_grant`, so that granting and inviting stay one decision in one place.
"""

from __future__ import annotations

import datetime

from gateway.config import Config
from gateway.errors import MailUnavailable
from gateway.services import grants


def provide_grant(
    config: Config,
    key: str,
    ref: str,
    *,
    expires: datetime.date | None | object = grants.KEEP_EXPIRY,
    send: bool = False,
) -> grants.GrantResult:
    """Grant ``ref`` access to ``key`` (see :func:`grants.grant_access`) and, with
    ``send``, mail them the invitation.

    :raises NotFound: property or contact unknown.
    :raises InvalidInput: the expiry is in the past.
    :raises MailUnavailable: ``send`` was asked for and no invitation can go out;
        nothing is granted then.
    """
    if send:
        # INVITATION CALL SITE: the invitation mail (gateway.services.invitations) is
        # sent from here. Until it exists, a requested send is refused before anything
        # is granted, so a CRM never believes a contact was invited when none was.
        raise MailUnavailable("invitations cannot be sent by this installation yet")
    return grants.grant_access(config, key, ref, expires=expires)
