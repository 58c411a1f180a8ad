"""Starting the peers on the dataset root: copyparty, stock WsgiDAV, nginx.

Each gets one account with Basic auth and its stock settings otherwise: WsgiDAV with
FilesystemProvider and ``simple_dc`` (default block size), nginx with the dav and
dav-ext modules and a generated htpasswd. Generated configs and logs stay in the work
folder.

copyparty runs twice: ``copyparty`` as its README shows (``-a USER:PW -v DIR::r,USER``:
accounts are passwords, no ``--usernames``) and ``copyparty-u`` with ``--usernames``.
The bench sends the same ``Authorization: Basic USER:PW`` to both: without
``--usernames`` copyparty tries the whole ``USER:PW`` as a password, then ``PW``, then
``USER`` (``httpcli.py``, "try pwd, x:pwd, pwd:x"), so any user name with the password
logs in. Both keep their state (``--hist``, salts) in the work folder, make no
thumbnails and log nothing per request (``-q``); case 13 starts a third with ``-j 2``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cheroot
import yaml

from bench.servers import PASSWORD, USER, Server, StartError, free_port, spawn
from bench.venv import PeerEnv

DAV_EXT_MODULE = Path("/usr/lib/nginx/modules/ngx_http_dav_ext_module.so")


def _version(argv: list) -> str:
    try:
        out = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=30)
    except OSError:
        return "?"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "?"


def start_copyparty(
    env: PeerEnv,
    root: Path,
    work: Path,
    probe: str,
    *,
    name: str = "copyparty",
    usernames: bool = False,
    processes: int = 1,
) -> Server:
    """copyparty serving ``root`` read-only to the bench's account; ``usernames``
    adds ``--usernames``, ``processes`` > 1 adds ``-j N``."""
    if env.python is None:
        raise StartError(env.problem)
    port = free_port()
    state = work / name
    state.mkdir(parents=True, exist_ok=True)
    argv = [env.python, "-m", "copyparty", "-i", "127.0.0.1", "-p", port, "-q"]
    argv += ["--usernames"] if usernames else []
    argv += ["-j", processes] if processes > 1 else []
    argv += [
        "-a",
        f"{USER}:{PASSWORD}",
        "-v",
        f"{root}::r,{USER}",
        "--hist",
        state / "hist",
        "--no-thumb",
        "--http-only",
    ]
    log = work / "logs" / f"{name}.log"
    # copyparty keeps salts and sessions in XDG_CONFIG_HOME: keep them in the work folder.
    proc = spawn(name, argv, log, env={"XDG_CONFIG_HOME": str(state)})
    server = Server(name, port, "", (USER, PASSWORD), proc, log)
    server.version = (
        _version(
            [env.python, "-c", "import copyparty.__version__ as v;print('copyparty', v.S_VERSION)"]
        )
        + (" --usernames" if usernames else " (password-only accounts)")
        + (f" -j {processes}" if processes > 1 else "")
    )
    server.wait_ready(probe)
    return server


def start_cheroot(root: Path, work: Path, probe: str) -> Server:
    """immoshare's server with an app that only checks the login and reads the file."""
    port = free_port()
    log = work / "logs" / "cheroot.log"
    proc = spawn("cheroot", [sys.executable, "-m", "bench.bare_server", root, port], log)
    server = Server("cheroot", port, "", (USER, PASSWORD), proc, log)
    server.version = "cheroot " + cheroot.__version__ + " (immoshare's server, no app)"
    server.wait_ready(probe)
    return server


def start_wsgidav(env: PeerEnv, root: Path, work: Path, probe: str) -> Server:
    if env.python is None:
        raise StartError(env.problem)
    port = free_port()
    config = {
        "host": "127.0.0.1",
        "port": port,
        "provider_mapping": {"/": str(root)},
        "simple_dc": {"user_mapping": {"*": {USER: {"password": PASSWORD}}}},
        "http_authenticator": {
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
        },
        "logging": {"enable": False},
        "verbose": 0,
    }
    path = work / "wsgidav.yaml"
    path.write_text(yaml.safe_dump(config))
    log = work / "logs" / "wsgidav.log"
    proc = spawn("wsgidav", [env.bin("wsgidav"), "--config", path], log)
    server = Server("wsgidav", port, "", (USER, PASSWORD), proc, log)
    server.version = "WsgiDAV " + _version([env.bin("wsgidav"), "--version"])
    server.wait_ready(probe)
    return server


def start_nginx(root: Path, work: Path, probe: str) -> Server:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if nginx is None:
        raise StartError("nginx is not installed (Debian package nginx-extras)")
    if not DAV_EXT_MODULE.exists():
        raise StartError(f"{DAV_EXT_MODULE} missing (Debian package nginx-extras)")
    port = free_port()
    prefix = work / "nginx"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    digest = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    (prefix / "htpasswd").write_text(f"{USER}:{{SHA}}{digest}\n")
    # Workers of a root master run as nobody unless told otherwise; the data is root's.
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(f"""
load_module {DAV_EXT_MODULE};
{user}
worker_processes auto;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
            auth_basic "bench";
            auth_basic_user_file {prefix}/htpasswd;
            dav_ext_methods PROPFIND OPTIONS;
        }}
    }}
}}
""")
    log = work / "logs" / "nginx.log"
    proc = spawn(
        "nginx", [nginx, "-p", prefix, "-e", prefix / "error.log", "-c", prefix / "nginx.conf"], log
    )
    server = Server("nginx", port, "", (USER, PASSWORD), proc, log)
    server.version = _version([nginx, "-v"]).replace("nginx version: ", "")
    server.wait_ready(probe)
    return server
