"""Webhooks end to end: the CLI, signed deliveries to a real receiver on loopback from
the real server, a receiver that is down across a gateway restart, one that hangs,
and the bounds of each outbound request."""

from __future__ import annotations

import json
from urllib.parse import urljoin

import pytest
import requests

from gateway.models import AccessEvent, Webhook, WebhookDelivery
from gateway.services import event_feed, leases, webhook_sender, webhooks
from gateway.services.tracking import PUBLIC_FIELDS
from tests.contact_page import find, make_share
from tests.tools import HANG_SECONDS, ServerProcess, free_port, wait_until
from tests.webhook_receiver import Receiver, receiving

pytestmark = pytest.mark.server


def add_webhook(cli, url: str, *extra: str) -> dict:
    r = cli("webhook", "add", url, *extra, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def webhook_log(cli) -> list[dict]:
    r = cli("webhook", "list", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def expected_ids(since: int = 0) -> set[str]:
    """The delivery ids every event recorded so far should cause: its action, and
    ``first-open`` for a contact's first access to a property."""
    ids, seen = set(), set()
    for event in AccessEvent.select().where(AccessEvent.id > since).order_by(AccessEvent.id):
        ids.add(f"evt-{event.id}-{event.action}")
        if event.contact and event.action in ("list", "open", "download", "zip"):
            if (event.property, event.contact) not in seen:
                ids.add(f"evt-{event.id}-first-open")
            seen.add((event.property, event.contact))
    return ids


@pytest.mark.parametrize(
    "url",
    [
        "ftp://crm.example.de/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "crm.example.de/hook",
        "http://",
        "http:///hook",
        "https://:443/hook",
        "http://crm.example.de:99999/hook",
        "http://crm.example.de:0/hook",
        "http://user:pass@crm.example.de/hook",
        "http://crm example.de/hook",
        "http://crm.example.de/\x00hook",
        "http://crm.example.de/hook\r\nX-Injected: 1",
        "http://bücher.example.de/hook",
        "http://crm.example.de/hook#frag",
        "http://crm.example.de/" + "a" * 2100,
        "",
    ],
)
def test_a_url_that_is_not_http_with_a_host_is_refused_and_nothing_created(cli, url):
    r = cli("webhook", "add", url)
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: webhook URL") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.output
    assert webhook_log(cli) == []


def test_unknown_event_type_is_refused_and_nothing_created(cli):
    r = cli("webhook", "add", "https://crm.example.de/hook", "--events", "open,peek")
    assert r.exit_code == 1
    assert "unknown event type 'peek'" in r.stderr
    assert webhook_log(cli) == []


def test_add_list_test_remove(cli):
    receiver = Receiver()
    with receiving(receiver) as url:
        added = add_webhook(cli, url, "--events", "first-open, consent")
        assert set(added) == {"id", "url", "events", "secret"}
        assert added["url"] == url and added["events"] == ["first-open", "consent"]
        assert len(added["secret"]) >= 32
        receiver.secret = added["secret"]

        [row] = webhook_log(cli)
        assert row["id"] == added["id"] and row["pending"] == 0 and row["failures"] == 0
        assert "secret" not in row and added["secret"] not in json.dumps(row)

        r = cli("webhook", "test", str(added["id"]))
        assert r.exit_code == 0, r.output
        assert "answered 200" in r.stdout
        [delivery] = receiver.deliveries
        assert receiver.signatures_ok == [True]
        assert delivery["type"] == "test" and set(delivery["event"]) == set(PUBLIC_FIELDS)

    r = cli("webhook", "test", str(added["id"]))  # the receiver is gone now
    assert r.exit_code == 1 and r.stderr.startswith(f"Error: webhook {added['id']}:")

    assert cli("webhook", "remove", str(added["id"])).exit_code == 0
    assert webhook_log(cli) == []
    r = cli("webhook", "remove", str(added["id"]))
    assert r.exit_code == 1 and "not found" in r.stderr
    assert cli("webhook", "remove", "first").exit_code == 2


@pytest.mark.each_database
def test_events_arrive_signed_with_a_first_open(config, server, cli, http):
    share = make_share(config)
    receiver = Receiver()
    with receiving(receiver) as url:
        receiver.secret = add_webhook(cli, url)["secret"]
        page = http.get(server.url + share.link)
        assert page.status_code == 200
        download = find(page.text, "download")[0].attrs["href"]
        assert http.get(urljoin(server.url + share.link, download)).status_code == 200
        http.get(server.url + share.link)  # the contact comes back: no first open again

        wait_until(
            lambda: len(expected_ids()) == 4 and set(receiver.ids()) == expected_ids(),
            message=lambda: f"received {receiver.ids()}, expected {expected_ids()}",
        )
        wait_until(lambda: webhook_log(cli)[0]["sent"] == 4)

    assert all(receiver.signatures_ok) and len(receiver.signatures_ok) == 4
    types = [d["type"] for d in receiver.deliveries]
    assert sorted(types) == ["download", "first-open", "list", "list"]
    api_events = {e["id"]: e for e in _events(cli)}
    for delivery in receiver.deliveries:
        event = delivery["event"]
        assert event == api_events[event["id"]]  # the fields of the tracking event
        assert delivery["at"] == event["at"]
        assert event["contact"] == "4711" and event["property"] == "obj-1"
    first = next(d for d in receiver.deliveries if d["type"] == "first-open")
    assert first["event"]["id"] == min(api_events)  # the contact's first access


def _events(cli) -> list[dict]:
    r = cli("tracking", "export")
    assert r.exit_code == 0, r.output
    return [json.loads(line) for line in r.stdout.splitlines()]


@pytest.mark.each_database
def test_receiver_down_across_a_restart_gets_every_event_once(home, config, cli):
    share = make_share(config)
    receiver, port = Receiver(), free_port()
    with receiving(receiver, port) as url:
        receiver.secret = add_webhook(cli, url)["secret"]
    # the receiver is down from here on
    first = ServerProcess(home)
    try:
        for _ in range(3):
            assert requests.get(first.url + share.link, timeout=HANG_SECONDS).status_code == 200
        wait_until(
            lambda: webhook_log(cli)[0]["failures"] >= 1,
            message="the gateway never tried the receiver",
        )
    finally:
        first.stop()
    second = ServerProcess(home)
    try:
        for _ in range(2):
            assert requests.get(second.url + share.link, timeout=HANG_SECONDS).status_code == 200
        with receiving(receiver, port):  # back, at the same address
            wait_until(
                lambda: len(expected_ids()) == 6 and set(receiver.ids()) >= expected_ids(),
                timeout=2 * HANG_SECONDS,  # the back-off after a few failures in a row
                message=lambda: f"received {receiver.ids()}, expected {expected_ids()}",
            )
            wait_until(lambda: webhook_log(cli)[0]["pending"] == 0)
    finally:
        second.stop()
    ids = receiver.ids()
    assert len(ids) == len(set(ids)) == 6, ids  # 5 lists and one first open, none twice
    assert set(ids) == expected_ids()
    assert all(receiver.signatures_ok)
    [row] = webhook_log(cli)
    assert row["sent"] == 6 and row["failures"] == 0 and row["last_status"] == 200


def test_a_hanging_receiver_slows_no_download(config, server, cli, http):
    share = make_share(config, files={"Exposé.pdf": b"%PDF-1.4 " + b"x" * 300_000})
    receiver = Receiver(hang=True)
    with receiving(receiver) as url:
        add_webhook(cli, url)
        page = http.get(server.url + share.link)
        assert receiver.entered.wait(HANG_SECONDS), "the gateway never posted"
        # The delivery of that page view hangs now; the contact goes on meanwhile.
        download = find(page.text, "download")[0].attrs["href"]
        r = http.get(urljoin(server.url + share.link, download), timeout=HANG_SECONDS)
        assert r.status_code == 200 and len(r.content) == 300_009
        assert not receiver.release.is_set()  # still hanging while the file went out
        # The gateway gives up on the hanging request by itself, and logs it.
        wait_until(
            lambda: webhook_log(cli)[0]["failures"] >= 1,
            message="the hanging request was never cut",
        )
        assert "timed out" in webhook_log(cli)[0]["last_error"]
        receiver.release.set()


# ---------------------------------------------------------------- the sender alone


def test_a_redirect_is_not_followed_and_counts_as_failure(config, cli):
    make_share(config)
    target = Receiver()

    with receiving(target) as target_url:

        class Redirect(Receiver):
            def handler(self):
                class Handler(super().handler()):
                    def do_POST(self):
                        self.send_response(307)
                        self.send_header("Location", target_url)
                        self.send_header("Content-Length", "0")
                        self.end_headers()

                return Handler

        with receiving(Redirect()) as url:
            add_webhook(cli, url)
            _record_list_event()
            event_feed.run_round(config)
    assert target.requests == 0
    [row] = webhook_log(cli)
    assert row["last_status"] == 307 and row["failures"] == 1 and row["pending"] == 2
    assert "answered 307" in row["last_error"]


def test_a_huge_answer_is_read_only_in_part(config, cli):
    make_share(config)
    written = []

    class Huge(Receiver):
        def handler(self):
            class Handler(super().handler()):
                def do_POST(self):
                    self.rfile.read(int(self.headers["Content-Length"]))
                    self.send_response(200)
                    self.send_header("Content-Length", str(1024**3))
                    self.end_headers()
                    try:
                        for _ in range(1024):  # a GiB, unless the gateway hangs up
                            self.wfile.write(b"x" * 1024 * 1024)
                            written.append(1)
                    except OSError:
                        pass

            return Handler

    with receiving(Huge()) as url:
        add_webhook(cli, url)
        _record_list_event()
        event_feed.run_round(config)
        wait_until(lambda: len(webhook_log(cli)) and webhook_log(cli)[0]["sent"] == 2)
    [row] = webhook_log(cli)
    assert row["last_status"] == 200 and row["failures"] == 0
    assert len(written) < 1024  # the gateway hung up after its part of each answer


@pytest.mark.each_database
def test_one_lease_per_webhook_at_a_time(config, cli):
    hook = webhooks.add_webhook("https://crm.example.de/hook")
    now = webhook_sender.utc_now()
    claim = dict(until=Webhook.retry_at, now=now, lease=webhook_sender.LEASE)
    assert leases.claim(Webhook, Webhook.id == hook.id, **claim) == 1
    assert leases.claim(Webhook, Webhook.id == hook.id, **claim) == 0  # another process
    later = dict(claim, now=now + webhook_sender.LEASE)
    assert leases.claim(Webhook, Webhook.id == hook.id, **later) == 1  # the lease ran out


@pytest.mark.each_database
def test_queueing_the_same_events_twice_queues_them_once(config, cli):
    make_share(config)
    add_webhook(cli, "https://crm.example.de/hook")
    _record_list_event()
    events = [(e, (e.action,)) for e in AccessEvent.select()]
    webhooks.queue_deliveries(events)
    webhooks.queue_deliveries(events)  # a second process read the same events
    assert WebhookDelivery.select().count() == 1


def _record_list_event():
    from gateway.services.tracking import Event, record_event

    record_event(Event(property="obj-1", channel="web", action="list", contact="4711"))
