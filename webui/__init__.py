"""Contact pages, the CRM API and health: the web side of immoshare."""

from webui.app import create_app

__all__ = ["create_app"]
