"""``python -m gateway`` runs the CLI."""

from gateway.cli import cli

cli()
