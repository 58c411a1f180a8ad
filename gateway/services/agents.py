"""Agent accounts: the people who mount every share read-write."""

from __future__ import annotations

import re

from gateway.db import database
from gateway.errors import AlreadyExists, InvalidInput, NotFound
from gateway.models import Agent
from gateway.security import hash_password, new_password

AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def add_agent(name: str, password: str | None = None) -> tuple[Agent, str | None]:
    """Create an agent; return it and the generated password (None if one was given).

    :raises InvalidInput: bad name or empty password.
    :raises AlreadyExists: the name is taken.
    """
    if not AGENT_NAME.match(name):
        raise InvalidInput(
            f"invalid agent name {name!r}: letters, digits, '.', '_', '@', '-', up to 64"
        )
    generated = None
    if password is None:
        password = generated = new_password()
    if not password:
        raise InvalidInput("the password is empty")
    with database.atomic():
        if Agent.get_or_none(Agent.name == name):
            raise AlreadyExists(f"agent '{name}' exists already — see `immoshare agent list`")
        agent = Agent.create(name=name, password_hash=hash_password(password))
    return agent, generated


def list_agents() -> list[Agent]:
    return list(Agent.select().order_by(Agent.name))


def get_agent(name: str) -> Agent:
    """:raises NotFound: no such agent."""
    agent = Agent.get_or_none(Agent.name == name)
    if agent is None:
        raise NotFound(f"agent '{name}' not found — see `immoshare agent list`")
    return agent


def remove_agent(name: str) -> None:
    """:raises NotFound: no such agent."""
    get_agent(name).delete_instance()


def find_agent(name: str) -> Agent | None:
    return Agent.get_or_none(Agent.name == name)
