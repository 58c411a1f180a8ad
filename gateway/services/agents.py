"""Agent accounts: the people who mount every share read-write."""

from __future__ import annotations

import re

from gateway.config import SETTINGS_BY_NAME
from gateway.db import database
from gateway.errors import AlreadyExists, InvalidInput, NotFound
from gateway.models import Agent
from gateway.security import hash_password, new_password

AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


#: The setting ``min_password_length``'s default, for callers without a config.
MIN_PASSWORD_LENGTH = SETTINGS_BY_NAME["min_password_length"].default
#: argon2 takes any length; a longer "password" is a pasted file, not a password.
MAX_PASSWORD_LENGTH = 1024


def check_password(password: str, min_length: int = MIN_PASSWORD_LENGTH) -> None:
    """The rule for a password an admin chooses (generated ones are long and random).

    :raises InvalidInput: shorter than ``min_length`` or longer than 1024 characters.
    """
    if len(password) < max(min_length, 1):
        raise InvalidInput(
            f"the password has {len(password)} characters; at least {max(min_length, 1)} "
            "are needed (setting min_password_length) — or leave it out to get a generated one"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")


def add_agent(
    name: str, password: str | None = None, *, min_length: int = MIN_PASSWORD_LENGTH
) -> tuple[Agent, str | None]:
    """Create an agent; return it and the generated password (None if one was given).

    :raises InvalidInput: bad name, or a password that breaks :func:`check_password`.
    :raises AlreadyExists: the name is taken.
    """
    if not AGENT_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid agent name {name!r}: letters, digits, '.', '_', '@', '-', up to 64"
        )
    generated = None
    if password is None:
        password = generated = new_password()
    else:
        check_password(password, min_length)
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
