"""Domain errors. Each adapter (CLI, web, WebDAV) maps them in one place."""


class GatewayError(Exception):
    """Base of every expected failure; the message is shown to the user as is."""


class NotFound(GatewayError):
    """A property, contact, agent, grant or token that does not exist."""


class AlreadyExists(GatewayError):
    """A key, name or reference that is taken."""


class InvalidInput(GatewayError):
    """A value that breaks a documented rule (key syntax, date format, ...)."""


class AccessDenied(GatewayError):
    """Revoked, expired or otherwise no longer valid access. Shown like NotFound."""


class MalformedCredentials(InvalidInput):
    """Credentials that cannot be read at all (not a well-formed Basic value)."""


class SetupError(GatewayError):
    """The home, database or configuration is missing or not ready."""


class MailUnavailable(GatewayError):
    """A mail was asked for (an invitation) that this installation cannot send."""
