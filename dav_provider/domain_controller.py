"""Basic authentication for the two shares: agents on ``/dav``, contacts on ``/view``.

No Digest: it needs plaintext-equivalent passwords. The realm is the share path, so an
agent's login does not open the contacts' share and the other way round. The
credentials are read by ``gateway.security.basic_credentials``, as on the lean paths:
a value that cannot be read is a 400, and no part of it is ever repeated.
"""

from __future__ import annotations

from wsgidav.dc.base_dc import BaseDomainController
from wsgidav.http_authenticator import HTTPAuthenticator

from dav_provider.provider import PRINCIPAL_KEY
from gateway import urls
from gateway.errors import MalformedCredentials
from gateway.security import basic_credentials
from gateway.services import access

AGENT_REALM = urls.AGENT_DAV
CONTACT_REALM = urls.CONTACT_DAV


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


class GatewayAuthenticator(HTTPAuthenticator):
    """WsgiDAV's authenticator with our reader of Basic credentials.

    WsgiDAV's own decodes with ``base64.decodebytes`` and splits at the colon
    unchecked, so a value without a colon or with bytes that are not UTF-8 ended in
    a 500 whose page repeated the exception (and with it the decoded credentials).
    """

    def handle_basic_auth_request(self, environ, start_response):
        try:
            credentials = basic_credentials(environ.get("HTTP_AUTHORIZATION"))
        except MalformedCredentials:
            return _malformed_credentials(start_response)
        if credentials is None:  # "Basic" without a token: ask again
            return self.send_basic_auth_response(environ, start_response)
        user_name, password = credentials
        realm = self.domain_controller.get_domain_realm(environ["PATH_INFO"], environ)
        if self.domain_controller.basic_auth_user(realm, user_name, password, environ):
            environ["wsgidav.auth.realm"] = realm
            environ["wsgidav.auth.user_name"] = user_name
            return self.next_app(environ, start_response)
        return self.send_basic_auth_response(environ, start_response)


def _malformed_credentials(start_response):
    """400 for an ``Authorization`` value that is not readable Basic credentials
    (the body is replaced by ``dav_provider.error_pages``)."""
    body = b"malformed credentials\n"
    start_response(
        "400 Bad Request",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
