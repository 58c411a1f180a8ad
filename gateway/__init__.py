"""immoshare gateway: the domain (models, services, CLI) and the server assembly."""

__version__ = "0.1.0"
