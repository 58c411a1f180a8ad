"""The ``immoshare`` command: one click group, a subgroup per noun of INTERFACE.md.

Data goes to stdout (only JSON under ``--json``), messages to stderr. Expected
failures are one line and exit 1, usage errors exit 2; never a traceback.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import click
import peewee

from gateway import __version__
from gateway.config import Config, default_home
from gateway.errors import GatewayError
from gateway.services.home import open_home

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclasses.dataclass
class CliContext:
    """What every command gets: the home, and the opened config once asked for."""

    home: Path
    _config: Config | None = None

    def config(self, **overrides) -> Config:
        if self._config is None or overrides:
            self._config = open_home(self.home, overrides)
        return self._config


#: Which module of ``gateway.cli`` defines each command. A command's module (and the
#: services it needs) is imported only when that command runs or help lists them
#: all: ``immoshare tracking show`` does not load the web app, PIL or argon2.
COMMAND_MODULES = {
    "agent": "agents",
    "apikey": "apikeys",
    "branding": "branding",
    "consent": "consent",
    "contact": "contacts",
    "demo": "admin",
    "doctor": "doctor",
    "evidence": "evidence",
    "grant": "grants",
    "import": "imports",
    "init": "admin",
    "link": "grants",
    "preview": "grants",
    "property": "properties",
    "render": "render",
    "report": "reports",
    "revoke": "grants",
    "serve": "admin",
    "tracking": "tracking",
    "trash": "trash",
    "users": "grants",
    "webhook": "webhooks",
}


class ImmoshareGroup(click.Group):
    """Turns domain errors and database failures into one line and exit code 1;
    imports each command's module on first use (``COMMAND_MODULES``)."""

    def get_command(self, ctx, cmd_name):
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"gateway.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | COMMAND_MODULES.keys())

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GatewayError as exc:
            raise click.ClickException(str(exc)) from None
        except peewee.OperationalError as exc:
            raise click.ClickException(f"database error: {str(exc).splitlines()[0]}") from None
        except OSError as exc:
            raise click.ClickException(
                f"{exc.strerror or exc}: {exc.filename or ''}".strip(": ")
            ) from None


@click.group(cls=ImmoshareGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="immoshare")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="IMMOSHARE_HOME",
    show_envvar=True,
    help="Home folder with settings, database and property folders.",
)
@click.pass_context
def cli(ctx, home):
    """immoshare: one WebDAV share per property, a personal link per contact,
    every access tracked.

    \b
    Example:
        immoshare --home /srv/immoshare init
        immoshare consent set widerruf widerrufsbelehrung.txt
        immoshare property add obj-17 --title "Musterstraße 5, Nürnberg"
        immoshare contact add 4711 --name "Erika Muster" --email erika@example.de
        immoshare grant obj-17 4711
    """
    ctx.obj = CliContext(home=(home or default_home()).absolute())
