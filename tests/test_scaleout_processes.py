"""Two ``immoshare serve`` processes on one home, PostgreSQL and Redis.

Every test here starts real servers: a throwaway PostgreSQL and Redis
(``tests/backends.py``) and two gateway processes A and B sharing the home folder,
as two nodes behind a load balancer would share an NFS export. Nothing is mocked:
what one process, or the CLI, changes must hold on the other at its next request.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import redis as redis_lib
import requests

from gateway import access_notify
from gateway.db import database
from gateway.models import AccessEvent, CatalogEntry
from tests.contact_page import entry_names, find, make_share
from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import ServerProcess, wait_until
from tests.webdav_bodies import lock_body

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

AGENT = ("anna", AGENT_PASSWORD)


@pytest.fixture
def database_url(postgres_url):
    """The home's database is PostgreSQL: ``home``, ``config`` and ``cli`` use it."""
    return postgres_url


@pytest.fixture
def nodes(home, redis_url):
    """Processes A and B on the same home, database and Redis; neither may log a
    traceback (a lost race between them would show up there)."""
    env = {"IMMOSHARE_REDIS_URL": redis_url}
    started = []
    try:
        for _ in range(2):
            started.append(ServerProcess(home, env=env))
        yield started
    finally:
        for process in started:
            process.stop()
    for process in started:
        log = (home / f"serve-{process.port}.log").read_text(errors="replace")
        assert "Traceback" not in log, log


@pytest.fixture
def shared(config):
    make_agent()
    make_property(config, "obj-1", "Musterstraße 5", files={"plan.pdf": b"%PDF-plan v1"})
    make_contact("4711")
    return make_grant(config, "obj-1", "4711")


def lock(url: str, depth: str = "0") -> requests.Response:
    return requests.request(
        "LOCK",
        url,
        auth=AGENT,
        data=lock_body("anna"),
        headers={"Timeout": "Second-600", "Depth": depth, "Content-Type": "application/xml"},
    )


def test_lock_through_a_blocks_put_through_b(nodes, shared, config):
    """Acceptance 2: the lock lives in Redis, not in process A."""
    a, b = nodes
    target = config.properties_dir / "obj-1" / "plan.pdf"
    r = lock(a.url + "/dav/obj-1/plan.pdf")
    assert r.status_code == 200, r.text
    token = r.headers["Lock-Token"]

    r = requests.put(b.url + "/dav/obj-1/plan.pdf", data=b"%PDF-plan v2", auth=AGENT)
    assert r.status_code == 423
    assert requests.delete(b.url + "/dav/obj-1/plan.pdf", auth=AGENT).status_code == 423
    assert target.read_bytes() == b"%PDF-plan v1"

    r = requests.put(
        b.url + "/dav/obj-1/plan.pdf",
        data=b"%PDF-plan v2",
        auth=AGENT,
        headers={"If": f"({token})"},
    )
    assert r.status_code in (200, 204), r.text
    assert target.read_bytes() == b"%PDF-plan v2"

    r = requests.request(
        "UNLOCK", b.url + "/dav/obj-1/plan.pdf", auth=AGENT, headers={"Lock-Token": token}
    )
    assert r.status_code == 204
    r = requests.put(a.url + "/dav/obj-1/plan.pdf", data=b"%PDF-plan v3", auth=AGENT)
    assert r.status_code in (200, 204)
    assert target.read_bytes() == b"%PDF-plan v3"


def test_child_lock_in_a_folder_named_with_brackets_is_seen_by_the_other(nodes, shared):
    """A depth-infinity LOCK of a folder through B conflicts with a lock on a file
    inside it taken through A, even where the folder name is glob syntax."""
    a, b = nodes
    folder = "/dav/obj-1/Pl%C3%A4ne%20%5Balt%5D*"
    assert requests.request("MKCOL", a.url + folder + "/", auth=AGENT).status_code == 201
    assert requests.put(a.url + folder + "/EG.pdf", data=b"%PDF", auth=AGENT).status_code == 201
    assert lock(a.url + folder + "/EG.pdf").status_code == 200

    assert lock(b.url + folder + "/", depth="infinity").status_code == 423
    r = requests.request("PROPFIND", b.url + folder + "/EG.pdf", auth=AGENT, headers={"Depth": "0"})
    assert "opaquelocktoken:" in r.text  # lockdiscovery through B names A's lock


def test_revoke_through_the_cli_holds_on_both_processes(nodes, shared, cli):
    """Acceptance 3: no process keeps serving a grant another one revoked."""
    contact = (shared.username, shared.password)
    token = shared.link.rsplit("/", 1)[1]
    for node in nodes:
        assert requests.get(node.url + "/view/obj-1/plan.pdf", auth=contact).status_code == 200
        assert requests.get(node.url + "/s/" + token).status_code == 200

    result = cli("revoke", "obj-1", "4711")
    assert result.exit_code == 0, result.output
    for node in nodes:
        assert requests.get(node.url + "/view/obj-1/plan.pdf", auth=contact).status_code == 404
        assert requests.get(node.url + "/s/" + token).status_code == 404

    result = cli("grant", "obj-1", "4711")
    assert result.exit_code == 0, result.output
    for node in nodes:
        assert requests.get(node.url + "/view/obj-1/plan.pdf", auth=contact).status_code == 200
        assert requests.get(node.url + "/s/" + token).status_code == 200


def test_new_api_key_works_on_both_processes_at_once(nodes, shared, cli):
    result = cli("apikey", "create", "crm", "--json")
    assert result.exit_code == 0, result.output
    key = json.loads(result.stdout)["key"]
    for node in nodes:
        r = requests.get(node.url + "/api/v1/events", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
    assert cli("apikey", "revoke", "crm").exit_code == 0
    for node in nodes:
        r = requests.get(node.url + "/api/v1/events", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 401


def test_failed_logins_are_counted_across_processes(nodes, shared, config):
    """The brute-force counters are shared: failures spread over A and B add up."""
    limit = config.rate_limit_failures
    for attempt in range(limit):
        node = nodes[attempt % 2]
        r = requests.request(
            "PROPFIND", node.url + "/dav/", auth=("anna", "wrong"), headers={"Depth": "0"}
        )
        assert r.status_code == 401
    for node in nodes:
        r = requests.request("PROPFIND", node.url + "/dav/", auth=AGENT, headers={"Depth": "0"})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1


def _api_key(cli) -> dict:
    result = cli("apikey", "create", "crm", "--json")
    assert result.exit_code == 0, result.output
    return {"Authorization": "Bearer " + json.loads(result.stdout)["key"]}


def _stored_ids() -> list[int]:
    with database.connection_context():
        return [e.id for e in AccessEvent.select(AccessEvent.id).order_by(AccessEvent.id)]


def test_downloads_through_both_processes_form_one_chain_each_event_seen_once(nodes, shared, cli):
    """Acceptance 4: 200 downloads, half through A and half through B, web and WebDAV,
    while a consumer pages through the API of A and B in turn: ids run without gaps,
    the chain verifies, and the consumer sees every event exactly once, in order."""
    auth = _api_key(cli)
    contact = (shared.username, shared.password)
    link = shared.link.split("/s/", 1)[1]
    downloads = 200

    def download(i: int) -> bytes:
        node = nodes[i % 2]
        if i % 4 < 2:
            r = requests.get(node.url + "/view/obj-1/plan.pdf", auth=contact)
        else:
            r = requests.get(node.url + f"/s/{link}/download/plan.pdf")
        assert r.status_code == 200, r.text
        return r.content

    seen: list[dict] = []
    writers_done = threading.Event()
    consumer_errors: list = []

    def consume():
        cursor, turn = "0", 0
        try:
            while True:
                drained = writers_done.is_set()
                node = nodes[turn % 2]
                turn += 1
                r = requests.get(
                    node.url + "/api/v1/events", headers=auth, params={"since": cursor, "limit": 7}
                )
                assert r.status_code == 200, r.text
                page = r.json()
                seen.extend(page["events"])
                cursor = page["next"]
                if drained and not page["events"]:
                    return
        except Exception as exc:  # noqa: BLE001 - handed to the test thread
            consumer_errors.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    with ThreadPoolExecutor(max_workers=16) as pool:
        bodies = list(pool.map(download, range(downloads)))
    assert bodies == [b"%PDF-plan v1"] * downloads
    # Each process appends its events from a journal, a moment after the response.
    try:
        wait_until(
            lambda: len(_stored_ids()) >= downloads,
            timeout=60,
            message=lambda: f"{len(_stored_ids())} of {downloads} events stored",
        )
    finally:
        writers_done.set()
        consumer.join(120)
    assert not consumer_errors, consumer_errors

    stored = _stored_ids()
    assert len(stored) == downloads
    assert stored == list(range(1, downloads + 1))
    assert [e["id"] for e in seen] == stored
    assert {e["channel"] for e in seen} == {"web", "dav"}
    assert all(e["action"] == "download" and e["complete"] for e in seen)
    result = cli("tracking", "verify")
    assert result.exit_code == 0, result.output


def _consent_fields(html: str) -> dict:
    """What a browser posts from the consent form with every box ticked."""
    form = html.split('data-testid="consent-form"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    fields.update(
        {name: "yes" for name in re.findall(r'type="checkbox"[^>]* name="([^"]+)"', form)}
    )
    return fields


def _zip_members(response: requests.Response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_contact_page_consent_and_zip_work_through_either_process(nodes, config, cli):
    """Acceptance 5: one link, any process: the form from A, the consent posted to B,
    the share and its zip from both, and the WebDAV share opened on both."""
    share = make_share(
        config,
        requires_consent=True,
        files={"Exposé.pdf": b"%PDF expose", "Grundrisse/EG.pdf": b"%PDF eg"},
    )
    a, b = nodes
    browser = requests.Session()  # one host for the cookie jar, as behind a balancer

    form = browser.get(a.url + share.link)
    assert form.status_code == 200 and find(form.text, "consent-form")
    r = browser.post(
        b.url + share.link + "/consent", data=_consent_fields(form.text), allow_redirects=False
    )
    assert r.status_code == 303, r.text

    pages = [browser.get(node.url + share.link + "/") for node in nodes]
    for page in pages:
        assert page.status_code == 200
        assert not find(page.text, "consent-form")
        assert sorted(entry_names(page.text)) == ["Exposé.pdf", "Grundrisse"]
    zips = [_zip_members(browser.get(node.url + share.link + "/zip")) for node in nodes]
    assert zips[0] == zips[1] == {"Exposé.pdf": b"%PDF expose", "Grundrisse/EG.pdf": b"%PDF eg"}

    contact = (share.grant.username, share.grant.password)
    for node in nodes:
        r = requests.get(node.url + "/view/obj-1/Grundrisse/EG.pdf", auth=contact)
        assert r.status_code == 200 and r.content == b"%PDF eg"
    users = json.loads(cli("users", "obj-1", "--json").stdout)
    assert users[0]["consent_at"] is not None


def _catalog() -> dict[str, str]:
    with database.connection_context():
        rows = list(CatalogEntry.select().where(CatalogEntry.property == "obj-1"))
    paths = [row.path for row in rows]
    assert len(paths) == len(set(paths))
    return {row.path: row.sha256 for row in rows}


def _on_disk(folder) -> dict[str, str]:
    return {
        f.relative_to(folder).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in folder.rglob("*")
        if f.is_file()
    }


def test_two_processes_watching_one_folder_keep_one_catalog(request, config):
    """Both processes scan at start and watch the same folder: the catalog ends up
    with exactly the files on disk, each once, with the hash of what is there."""
    make_property(
        config,
        "obj-1",
        "Musterstraße 5",
        files={f"vorher/{i:02}.pdf": b"%PDF old " + bytes([i]) * i for i in range(40)},
    )
    folder = config.properties_dir / "obj-1"
    request.getfixturevalue("nodes")  # both start and scan the same 40 files at once

    (folder / "neu").mkdir()
    for i in range(40):
        (folder / "neu" / f"{i:02}.pdf").write_bytes(b"%PDF new " + bytes([i]) * (i + 1))
    for i in range(10):
        (folder / "vorher" / f"{i:02}.pdf").write_bytes(b"%PDF changed " + bytes([i]))
    for i in range(30, 40):
        (folder / "vorher" / f"{i:02}.pdf").unlink()

    expected = _on_disk(folder)
    assert len(expected) == 70
    wait_until(
        lambda: _catalog() == expected,
        timeout=60,
        message=lambda: f"catalog and disk differ: {set(_catalog().items()) ^ expected.items()}",
    )


def _reused_on_both(nodes, contact, link) -> None:
    """Requests enough for each process to reuse its access answers."""
    for node in nodes:
        for _ in range(5):
            r = requests.get(node.url + "/view/obj-1/plan.pdf", auth=contact)
            assert r.status_code == 200
            assert requests.get(node.url + f"/s/{link}/download/plan.pdf").status_code == 200


def _refused_on_both(nodes, contact, link) -> None:
    for node in nodes:
        r = requests.get(node.url + "/view/obj-1/plan.pdf", auth=contact)
        assert r.status_code in (401, 404), r.status_code
        assert requests.get(node.url + f"/s/{link}/download/plan.pdf").status_code == 404


def _listeners(url: str) -> list[int]:
    """Backend ids of the processes' access listeners (``gateway.access_notify``)."""
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                (access_notify.LISTENER_NAME,),
            )
            return sorted(row[0] for row in cursor.fetchall())
    finally:
        connection.close()


def test_revoke_refuses_the_next_request_where_access_answers_were_reused(
    nodes, shared, cli, postgres_url
):
    """Both processes reuse the answer "may see obj-1" after the first requests; the
    revoke's notice reaches both before the command returns, and so does the grant's."""
    contact = (shared.username, shared.password)
    link = shared.link.rsplit("/", 1)[1]
    _reused_on_both(nodes, contact, link)
    wait_until(lambda: len(_listeners(postgres_url)) == 2, message="two listeners")

    result = cli("revoke", "obj-1", "4711")
    assert result.exit_code == 0, result.output
    _refused_on_both(nodes, contact, link)

    result = cli("grant", "obj-1", "4711")
    assert result.exit_code == 0, result.output
    for node in nodes:
        r = requests.get(node.url + "/view/obj-1/plan.pdf", auth=contact)
        assert r.status_code == 200 and r.content == b"%PDF-plan v1"
        assert requests.get(node.url + f"/s/{link}/download/plan.pdf").status_code == 200


def test_a_process_that_lost_its_notices_reuses_nothing(nodes, shared, cli, home, postgres_url):
    """The listeners' connections are cut (as by a restart of PostgreSQL): each
    process notices, and a revoke meanwhile still refuses the next request on both;
    once they listen again the next change reaches them as before."""
    contact = (shared.username, shared.password)
    link = shared.link.rsplit("/", 1)[1]
    _reused_on_both(nodes, contact, link)
    wait_until(lambda: len(_listeners(postgres_url)) == 2, message="two listeners")
    cut = _listeners(postgres_url)
    connection = psycopg2.connect(postgres_url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid", (cut,))
    finally:
        connection.close()
    for node in nodes:
        wait_until(
            lambda node=node: "access notices unavailable" in node.log_path.read_text(),
            message="the process never noticed its listener was cut",
        )

    result = cli("revoke", "obj-1", "4711")
    assert result.exit_code == 0, result.output
    _refused_on_both(nodes, contact, link)

    wait_until(
        lambda: len(set(_listeners(postgres_url)) - set(cut)) == 2,
        message="the listeners never came back",
    )
    assert cli("grant", "obj-1", "4711").exit_code == 0
    _reused_on_both(nodes, contact, link)
    assert cli("revoke", "obj-1", "4711").exit_code == 0
    _refused_on_both(nodes, contact, link)


def _subscribers(redis_url: str, nodes) -> int:
    """Subscribers of ``nodes`` (each names its connections for its process): other
    tests' processes may share the session's Redis."""
    names = {f"immoshare-{node.proc.pid}" for node in nodes}
    client = redis_lib.Redis.from_url(redis_url)
    try:
        return sum(1 for c in client.client_list(_type="pubsub") if c.get("name") in names)
    finally:
        client.close()


def test_a_client_over_the_limit_stays_refused_when_the_subscribers_reconnect(
    nodes, shared, config, redis_url
):
    """Each process keeps the clients over the limit in memory, told by the others;
    cut off from those notices it asks Redis, and back it reads who is over it."""
    for attempt in range(config.rate_limit_failures):
        r = requests.request(
            "PROPFIND",
            nodes[attempt % 2].url + "/dav/",
            auth=("anna", "wrong"),
            headers={"Depth": "0"},
        )
        assert r.status_code == 401
    wait_until(lambda: _subscribers(redis_url, nodes) == 2, message="two subscribers")
    client = redis_lib.Redis.from_url(redis_url)
    try:
        client.client_kill_filter(_type="pubsub")
    finally:
        client.close()
    for node in nodes:  # cut off or back already: refused either way
        r = requests.request("PROPFIND", node.url + "/dav/", auth=AGENT, headers={"Depth": "0"})
        assert r.status_code == 429
    wait_until(
        lambda: _subscribers(redis_url, nodes) == 2, message="the subscribers never came back"
    )
    for node in nodes:
        r = requests.request("PROPFIND", node.url + "/dav/", auth=AGENT, headers={"Depth": "0"})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
