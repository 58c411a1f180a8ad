"""``init``, ``serve`` and ``demo``: setting up and running the gateway."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import click

from gateway import urls
from gateway.cli import cli
from gateway.cli.output import note
from gateway.services import consent
from gateway.services.grants import base_url, contact_dav_url
from gateway.services.home import init_home
from gateway.services.listening import ListenAddress, cannot_listen, exposure_warning

#: More worker processes than this is a typo, not a machine.
MAX_WORKERS = 64


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise cannot_listen(host, port, exc) from None


def _run(config, host, port, banner=None, workers=1):
    from gateway.server import serve, serve_workers

    _check_port_free(host, port)
    texts_warning = consent.serve_warning()
    if texts_warning:
        note(texts_warning)

    scheme = "https" if config.tls_cert else "http"

    def ready(bound):
        processes = f" with {workers} worker processes" if workers > 1 else ""
        note(f"immoshare serving on {scheme}://{host}:{bound}/{processes} — Ctrl+C stops")
        address = ListenAddress(scheme, host, bound)
        warning = exposure_warning(address, config.base_url)
        if warning:
            note(warning)
        if banner:
            banner(bound)

    if workers > 1:
        serve_workers(config, host, port, workers, on_ready=ready)
    else:
        serve(config, host, port, on_ready=ready)


@cli.command(short_help="Create the home folder or bring it up to date.")
@click.pass_obj
def init(obj):
    """Create the home folder (settings, database, properties/) or bring its
    database up to date. Safe to run again.

    \b
    Example:
        immoshare --home /srv/immoshare init
    """
    applied = init_home(obj.home)
    note(
        f"Home ready at {obj.home}"
        + (f" ({len(applied)} migration(s) applied)" if applied else " (up to date)")
    )


@cli.command(short_help="Serve WebDAV, contact pages and the API.")
@click.option("--host", help="Address to listen on (setting: host).")
@click.option("--port", type=click.IntRange(0, 65535), help="TCP port (setting: port).")
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False),
    help="TLS certificate chain, PEM (setting: tls_cert); needs --key.",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False),
    help="TLS private key, PEM (setting: tls_key); needs --cert.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    default=1,
    show_default=True,
    help="Processes on this machine sharing the port (about one per core).",
)
@click.pass_obj
def serve(obj, host, port, cert, key, workers):
    """Serve WebDAV (/dav/, /view/), contact pages (/s/) and the API (/api/v1/).

    With --cert and --key it speaks HTTPS itself (Windows sends passwords only over
    HTTPS); behind a reverse proxy that terminates TLS, leave them out and list the
    proxy in the trusted_proxies setting. --workers N serves with N processes on one
    port, to use N cores; they share locks, rate limits and tracking without Redis.

    \b
    Example:
        immoshare --home /srv/immoshare serve --host 0.0.0.0 --port 8080
        immoshare --home /srv/immoshare serve --host 0.0.0.0 --port 8080 --workers 4
        immoshare --home /srv/immoshare serve --host 0.0.0.0 --port 443 \\
            --cert /etc/immoshare/fullchain.pem --key /etc/immoshare/privkey.pem
    """
    if bool(cert) != bool(key):
        raise click.UsageError("--cert and --key go together")
    config = obj.config(host=host, port=port, tls_cert=cert, tls_key=key)
    _run(config, config.host, config.port, workers=workers)


@cli.command(short_help="Serve a throwaway demo home with sample data.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="TCP port."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--keep", is_flag=True, help="Keep the throwaway home after stopping.")
def demo(port, host, keep):
    """Start a throwaway gateway with a sample property, an agent and two contacts,
    print their URLs and logins and the mailbox folder every mail is written to
    (consent confirmations with their PDF), and serve.

    \b
    Example:
        immoshare demo --port 8080
    """
    from gateway.demo import configure_demo_home, create_demo, login_url, preview_url
    from gateway.services.home import open_home

    home = Path(tempfile.mkdtemp(prefix="immoshare-demo-"))
    try:
        _check_port_free(host, port)
        init_home(home)
        mailbox = configure_demo_home(home)
        config = open_home(home, {"host": host, "port": port})
        logins = create_demo(config)

        def banner(actual_port):
            # after listening: the links name the address the server really has
            click.echo(f"Demo home: {home}")
            click.echo(f"Demo mailbox: {mailbox}  (every mail lands here as an .eml file)")
            for login in logins:
                if login.role == "agent":
                    click.echo(
                        f"Agent WebDAV:  {login_url(config, login)}  user: {login.username}  "
                        f"password: {login.password}"
                    )
                    click.echo(f"Agent preview: {preview_url(config)}")
                    dashboard = urls.agent_dashboard_url(base_url(config))
                    click.echo(f"Agent dashboard: {dashboard}  (the same user and password)")
                else:
                    click.echo(f"Contact {login.name}: link {login_url(config, login)}")
                    click.echo(
                        f"  WebDAV (read-only): {contact_dav_url(config)}  "
                        f"user: {login.username}  password: {login.password}"
                    )

        _run(config, host, port, banner)
    finally:
        if not keep:
            shutil.rmtree(home, ignore_errors=True)
