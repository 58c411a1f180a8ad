"""Agent accounts: the people who mount every share read-write."""

from __future__ import annotations

import re

from gateway.config import SETTINGS_BY_NAME
from gateway.db import database
from gateway.errors import AlreadyExists, InvalidInput, NotFound
from gateway.models import Agent
from gateway.security import hash_password, new_password
from gateway.services.contacts import validate_email

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
    name: str,
    password: str | None = None,
    *,
    min_length: int = MIN_PASSWORD_LENGTH,
    email: str | None = None,
) -> tuple[Agent, str | None]:
    """Create an agent; return it and the generated password (None if one was given).
    ``email`` receives notifications of contacts' first opens and consents.

    :raises InvalidInput: bad name or e-mail, or a password that breaks :func:`check_password`.
    :raises AlreadyExists: the name is taken.
    """
    if not AGENT_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid agent name {name!r}: letters, digits, '.', '_', '@', '-', up to 64"
        )
    if email is not None:
        validate_email(email)
    generated = None
    if password is None:
        password = generated = new_password()
    else:
        check_password(password, min_length)
    with database.atomic():
        if Agent.get_or_none(Agent.name == name):
            raise AlreadyExists(f"agent '{name}' exists already — see `immoshare agent list`")
        agent = Agent.create(name=name, password_hash=hash_password(password), email=email)
    return agent, generated


def update_agent(
    name: str,
    *,
    email: str | None = None,
    password: str | None = None,
    min_length: int = MIN_PASSWORD_LENGTH,
) -> list[str]:
    """Change an agent's e-mail (``""`` removes it) and/or password; return the names
    of what changed. Everything is checked before anything is written.

    :raises NotFound: no such agent.
    :raises InvalidInput: nothing to change, a bad e-mail or password.
    """
    if email is None and password is None:
        raise InvalidInput("nothing to change — give --email and/or --password-stdin")
    if email:
        validate_email(email)
    if password is not None:
        check_password(password, min_length)
    changes: dict = {}
    with database.atomic():
        agent = get_agent(name)
        if email is not None and (email or None) != agent.email:
            changes["email"] = email or None
        if password is not None:
            changes["password_hash"] = hash_password(password)
        if changes:
            Agent.update(changes).where(Agent.id == agent.id).execute()
    return sorted("password" if key == "password_hash" else key for key in changes)


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
