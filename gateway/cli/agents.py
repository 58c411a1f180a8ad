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
@json_option
@click.pass_obj
def agent_add(obj, name, password_stdin, as_json):
    """Create an agent; prints a generated password when none is given.

    \b
    Example:
        immoshare agent add anna
        echo 'a-long-passphrase' | immoshare agent add ben --password-stdin
    """
    config = obj.config()
    # Bounded: one character more than allowed is enough to refuse it.
    line = sys.stdin.readline(agents.MAX_PASSWORD_LENGTH + 2) if password_stdin else None
    password = None if line is None else line.rstrip("\r\n")
    created, generated = agents.add_agent(name, password, min_length=config.min_password_length)
    data = {"name": created.name, "password": generated, "dav_url": agent_dav_url(config)}
    if as_json:
        print_json(data)
        return
    click.echo(f"Agent '{created.name}' created.")
    if generated:
        click.echo(f"Password: {generated}")
    click.echo(f"Mount {data['dav_url']} in the file manager with this login.")


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
        print_json([{"name": a.name, "created_at": iso(a.created_at)} for a in rows])
        return
    print_table([[a.name, iso(a.created_at)] for a in rows], ["NAME", "CREATED"])


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
