"""``immoshare agent``: accounts that mount every share read-write."""

from __future__ import annotations

import sys

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import agents
from gateway.services.grants import agent_dav_url


@cli.group()
def agent():
    """Agents: who mounts the property shares read-write over WebDAV."""


@agent.command("add")
@click.argument("name")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password (at least min_password_length characters, default 12) "
    "from the first line of stdin instead of generating one.",
)
@click.option("--email", help="Where notifications of contacts' first opens and consents go.")
@json_option
@click.pass_obj
def agent_add(obj, name, password_stdin, email, as_json):
    """Create an agent; prints a generated password when none is given.

    \b
    Example:
        immoshare agent add anna --email anna@muster-immobilien.de
        echo 'a-long-passphrase' | immoshare agent add ben --password-stdin
    """
    config = obj.config()
    password = _password_from_stdin() if password_stdin else None
    created, generated = agents.add_agent(
        name, password, min_length=config.min_password_length, email=email
    )
    data = {
        "name": created.name,
        "email": created.email,
        "password": generated,
        "dav_url": agent_dav_url(config),
    }
    if as_json:
        print_json(data)
        return
    click.echo(f"Agent '{created.name}' created.")
    if generated:
        click.echo(f"Password: {generated}")
    click.echo(f"Mount {data['dav_url']} in the file manager with this login.")


def _password_from_stdin() -> str:
    # Bounded: one character more than allowed is enough to refuse it.
    return sys.stdin.readline(agents.MAX_PASSWORD_LENGTH + 2).rstrip("\r\n")


@agent.command("set")
@click.argument("name")
@click.option("--email", help="The agent's e-mail for notifications; an empty value removes it.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="A new password (at least min_password_length characters) from the first line of stdin.",
)
@click.pass_obj
def agent_set(obj, name, email, password_stdin):
    """Change an agent's e-mail or password.

    \b
    Example:
        immoshare agent set anna --email anna@muster-immobilien.de
        echo 'a-new-long-passphrase' | immoshare agent set anna --password-stdin
    """
    config = obj.config()
    password = _password_from_stdin() if password_stdin else None
    changed = agents.update_agent(
        name, email=email, password=password, min_length=config.min_password_length
    )
    if changed:
        note(f"Agent '{name}': {' and '.join(changed)} changed.")
    else:
        note(f"Agent '{name}' unchanged.")


@agent.command("list")
@json_option
@click.pass_obj
def agent_list(obj, as_json):
    """List agents.

    \b
    Example:
        immoshare agent list --json
    """
    obj.config()
    rows = agents.list_agents()
    if as_json:
        print_json(
            [{"name": a.name, "email": a.email, "created_at": iso(a.created_at)} for a in rows]
        )
        return
    print_table([[a.name, a.email, iso(a.created_at)] for a in rows], ["NAME", "EMAIL", "CREATED"])


@agent.command("remove")
@click.argument("name")
@click.pass_obj
def agent_remove(obj, name):
    """Remove an agent; their WebDAV login stops working at once.

    \b
    Example:
        immoshare agent remove ben
    """
    obj.config()
    agents.remove_agent(name)
    note(f"Agent '{name}' removed.")
