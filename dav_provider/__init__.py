"""WsgiDAV side of immoshare: the property provider and the domain controller."""

from dav_provider.domain_controller import GatewayDomainController
from dav_provider.provider import GatewayProvider

__all__ = ["GatewayDomainController", "GatewayProvider"]
