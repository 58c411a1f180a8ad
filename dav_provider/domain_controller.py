"""Basic authentication for the two shares: agents on ``/dav``, contacts on ``/view``.

No Digest: it needs plaintext-equivalent passwords. The realm is the share path, so an
agent's login does not open the contacts' share and the other way round.
"""

from __future__ import annotations

from wsgidav.dc.base_dc import BaseDomainController

from dav_provider.provider import PRINCIPAL_KEY
from gateway.services import access

AGENT_REALM = "/dav"
CONTACT_REALM = "/view"


class GatewayDomainController(BaseDomainController):
    def __init__(self, wsgidav_app, config):
        super().__init__(wsgidav_app, config)

    def __str__(self):
        return self.__class__.__name__

    def get_domain_realm(self, path_info, environ):
        return self._calc_realm_from_path_provider(path_info, environ)

    def require_authentication(self, realm, environ):
        return True

    def supports_http_digest_auth(self):
        return False

    def basic_auth_user(self, realm, user_name, password, environ):
        if realm == AGENT_REALM:
            principal = access.authenticate_agent(user_name, password)
        elif realm == CONTACT_REALM:
            principal = access.authenticate_contact(user_name, password)
        else:
            principal = None
        if principal is None:
            return False
        environ[PRINCIPAL_KEY] = principal
        environ["wsgidav.auth.roles"] = ("editor",) if principal.is_agent else ("reader",)
        record = environ.get("immoshare.access")
        if record is not None:
            record.principal = principal
        return True
