"""The agents' dashboard over real HTTP against the real server: signing in, the
session's limits, CSRF, what the pages show, the tracking views and their CSV, and
that every change lands in the same state the CLI sees."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re

import pytest
import requests

from gateway.models import AgentSession, Grant, Property
from gateway.services import agent_sessions, agents, grants, tracking
from tests.contact_page import find, make_share
from tests.factories import AGENT_PASSWORD, expire_grant, make_agent, make_contact, make_property
from webui.i18n import LOCAL_ZONE

pytestmark = pytest.mark.server

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def log_in(base: str, name: str = "anna", password: str = AGENT_PASSWORD) -> requests.Session:
    session = requests.Session()
    form = session.get(base + "/agent/login")
    assert form.status_code == 200
    answer = session.post(
        base + "/agent/login",
        data={"user": name, "password": password, "csrf": csrf_of(form.text), "next": "/agent/"},
        allow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    return session


def page_csrf(session: requests.Session, url: str) -> str:
    return csrf_of(session.get(url).text)


def grant_row(key: str = "obj-1", ref: str = "4711") -> Grant:
    return Grant.get(Grant.id == grants.get_grant(key, ref).id)


def test_login_sets_a_strict_session_cookie_and_logout_ends_it(server, config):
    make_agent()
    session = requests.Session()
    assert session.get(server.url + "/agent/properties", allow_redirects=False).status_code == 303
    form = session.get(server.url + "/agent/login")
    assert find(form.text, "login-user")
    answer = session.post(
        server.url + "/agent/login",
        data={"user": "anna", "password": AGENT_PASSWORD, "csrf": csrf_of(form.text)},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = answer.headers["Set-Cookie"]
    assert "immoshare_agent=" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/agent/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; under TLS see the test below
    token = session.cookies.get("immoshare_agent")
    assert AgentSession.select().count() == 1
    assert AgentSession.get().token_hash != token  # stored hashed
    page = session.get(server.url + "/agent/properties")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]

    out = session.post(
        server.url + "/agent/logout", data={"csrf": csrf_of(page.text)}, allow_redirects=False
    )
    assert out.status_code == 303
    assert AgentSession.select().count() == 0
    stolen = requests.get(
        server.url + "/agent/properties", cookies={"immoshare_agent": token}, allow_redirects=False
    )
    assert stolen.status_code == 303 and "/agent/login" in stolen.headers["Location"]


def test_secure_cookie_under_tls(tmp_path, home):
    from gateway.services.home import open_home
    from tests.tools import ThreadedServer, certificate

    cert, key = certificate(tmp_path)
    config = open_home(home, {"tls_cert": str(cert), "tls_key": str(key)})
    make_agent()
    running = ThreadedServer(config)
    try:
        with requests.Session() as session:  # verify= on each call: see test_headers_tls
            form = session.get(running.url + "/agent/login", verify=running.verify)
            answer = session.post(
                running.url + "/agent/login",
                data={"user": "anna", "password": AGENT_PASSWORD, "csrf": csrf_of(form.text)},
                allow_redirects=False,
                verify=running.verify,
            )
            assert answer.status_code == 303
            assert "Secure" in answer.headers["Set-Cookie"]
    finally:
        running.stop()


@pytest.mark.parametrize(
    "user, password",
    [
        ("anna", "wrong-password-123"),
        ("nobody", AGENT_PASSWORD),
        ("anna\x00", AGENT_PASSWORD),
        ("a" * 5000, AGENT_PASSWORD),
        ("anna", "p" * 5000),
        ("", ""),
    ],
)
def test_a_wrong_login_gets_401_and_no_session(server, config, user, password):
    make_agent()
    session = requests.Session()
    form = session.get(server.url + "/agent/login")
    answer = session.post(
        server.url + "/agent/login",
        data={"user": user, "password": password, "csrf": csrf_of(form.text)},
        allow_redirects=False,
    )
    assert answer.status_code == 401
    assert find(answer.text, "login-message")
    assert password not in answer.text or password == ""
    assert "immoshare_agent=" not in answer.headers.get("Set-Cookie", "")
    assert AgentSession.select().count() == 0


def test_a_login_without_the_form_token_is_refused(server, config):
    make_agent()
    answer = requests.post(
        server.url + "/agent/login",
        data={"user": "anna", "password": AGENT_PASSWORD},
        allow_redirects=False,
    )
    assert answer.status_code == 400
    assert AgentSession.select().count() == 0


def test_failed_logins_share_the_webdav_limit(server, config):
    make_agent()
    make_property(config)
    session = requests.Session()
    form = session.get(server.url + "/agent/login")
    token = csrf_of(form.text)
    for _ in range(config.rate_limit_failures):
        answer = session.post(
            server.url + "/agent/login", data={"user": "anna", "password": "x", "csrf": token}
        )
        assert answer.status_code == 401
    refused = session.post(
        server.url + "/agent/login",
        data={"user": "anna", "password": AGENT_PASSWORD, "csrf": token},
        allow_redirects=False,
    )
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert AgentSession.select().count() == 0
    dav = requests.get(server.url + "/dav/obj-1/", auth=("anna", AGENT_PASSWORD))
    assert dav.status_code == 429  # the same counter as WebDAV's logins


def test_sessions_end_with_the_agent_or_its_password(server, config):
    make_agent()
    make_agent("ben")
    anna = log_in(server.url)
    ben = log_in(server.url, "ben")
    with_old_password = log_in(server.url)
    agents.remove_agent("ben")
    assert ben.get(server.url + "/agent/properties", allow_redirects=False).status_code == 303
    agent = agents.get_agent("anna")
    agent.password_hash = agents.hash_password("a-brand-new-password")
    agent.save()
    for session in (anna, with_old_password):
        assert (
            session.get(server.url + "/agent/properties", allow_redirects=False).status_code == 303
        )
    assert AgentSession.select().count() == 0
    log_in(server.url, "anna", "a-brand-new-password")


def test_idle_and_absolute_expiry(server, config):
    make_agent()
    session = log_in(server.url)
    row = AgentSession.get()
    row.seen_at = row.seen_at - agent_sessions.IDLE - datetime.timedelta(seconds=5)
    row.save()
    assert session.get(server.url + "/agent/properties", allow_redirects=False).status_code == 303
    session = log_in(server.url)
    row = AgentSession.get()
    row.created_at = row.created_at - agent_sessions.ABSOLUTE - datetime.timedelta(seconds=5)
    row.save()  # seen just now, but logged in too long ago
    assert session.get(server.url + "/agent/properties", allow_redirects=False).status_code == 303


def test_forged_expired_and_foreign_posts_change_nothing(server, config):
    share = make_share(config)
    make_agent()
    make_agent("ben")
    anna = log_in(server.url)
    ben = log_in(server.url, "ben")
    url = server.url + "/agent/properties/obj-1/active"
    bens_token = page_csrf(ben, server.url + "/agent/properties/obj-1")
    attempts = [
        anna.post(url, data={"ref": "4711"}, allow_redirects=False),  # no token
        anna.post(url, data={"ref": "4711", "csrf": "0" * 64}, allow_redirects=False),
        anna.post(url, data={"ref": "4711", "csrf": bens_token}, allow_redirects=False),
        requests.post(url, data={"ref": "4711", "csrf": bens_token}, allow_redirects=False),
        anna.post(
            url,
            data={"ref": "4711", "csrf": page_csrf(anna, server.url + "/agent/properties/obj-1")},
            headers={"Sec-Fetch-Site": "cross-site"},
            allow_redirects=False,
        ),
    ]
    # an expired session with its own, once valid, token
    token = page_csrf(anna, server.url + "/agent/properties/obj-1")
    AgentSession.update(created_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)).where(
        AgentSession.id == AgentSession.select(AgentSession.id).order_by(AgentSession.id).first().id
    ).execute()
    attempts.append(anna.post(url, data={"ref": "4711", "csrf": token}, allow_redirects=False))
    attempts.append(
        anna.post(
            server.url + "/agent/properties",
            data={"key": "obj-9", "title": "Neu", "csrf": token},
            allow_redirects=False,
        )
    )
    assert [a.status_code for a in attempts] == [403] * len(attempts)
    assert grant_row().active is True
    assert not Property.select().where(Property.key == "obj-9").exists()
    assert requests.get(server.url + share.link).status_code == 200


def test_untick_revokes_link_and_webdav_and_tick_restores_the_same_link(server, config):
    share = make_share(config)
    make_agent()
    session = log_in(server.url)
    dav = server.url + "/view/obj-1/notizen.txt"
    login = (share.grant.username, share.grant.password)
    assert requests.get(dav, auth=login).status_code == 200
    url = server.url + "/agent/properties/obj-1"
    page = session.get(url)
    rows = find(page.text, "user-row")
    assert [r.attrs["data-ref"] for r in rows] == ["4711"]
    answer = session.post(
        url + "/active", data={"ref": "4711", "csrf": csrf_of(page.text)}, allow_redirects=False
    )
    assert answer.status_code == 303
    assert grant_row().active is False
    assert requests.get(server.url + share.link).status_code == 404
    assert requests.get(dav, auth=login).status_code in (401, 404)
    page = session.get(url)
    assert find(page.text, "user-active")[0].attrs.get("checked") is None
    session.post(url + "/active", data={"ref": "4711", "active": "yes", "csrf": csrf_of(page.text)})
    assert grant_row().active is True
    assert grants.personal_link(config, grant_row()).endswith(share.link)
    assert requests.get(server.url + share.link).status_code == 200
    assert requests.get(dav, auth=login).status_code == 200


def test_expiry_is_edited_and_a_past_date_is_refused(server, config):
    make_share(config)
    make_agent()
    session = log_in(server.url)
    url = server.url + "/agent/properties/obj-1"
    later = datetime.date.today() + datetime.timedelta(days=30)
    session.post(
        url + "/expiry",
        data={"ref": "4711", "expires": later.isoformat(), "csrf": page_csrf(session, url)},
    )
    assert grant_row().expires == later
    for bad in ("2001-01-01", "31.12.2030", "x" * 500):
        answer = session.post(
            url + "/expiry", data={"ref": "4711", "expires": bad, "csrf": page_csrf(session, url)}
        )
        assert answer.status_code == 400
        assert grant_row().expires == later
    session.post(
        url + "/expiry", data={"ref": "4711", "expires": "", "csrf": page_csrf(session, url)}
    )
    assert grant_row().expires is None


def test_add_existing_and_new_contacts(server, config):
    make_property(config, files={"a.pdf": b"%PDF a"})
    make_contact("4711")
    make_agent()
    session = log_in(server.url)
    url = server.url + "/agent/properties/obj-1"
    answer = session.post(
        url + "/grant", data={"existing": "4711", "csrf": page_csrf(session, url)}
    )
    assert answer.status_code == 200
    login = find(answer.text, "granted-login")  # first grant: the WebDAV password, once
    assert login and "4711" in login[0].text
    answer = session.post(
        url + "/grant",
        data={
            "ref": "4712",
            "name": "<b>Max</b> Muster",
            "email": "max@example.de",
            "csrf": page_csrf(session, url),
        },
    )
    assert answer.status_code == 200
    assert "<b>Max</b>" not in answer.text and "&lt;b&gt;Max&lt;/b&gt; Muster" in answer.text
    assert sorted(r.attrs["data-ref"] for r in find(answer.text, "user-row")) == ["4711", "4712"]
    for testid in ("user-consent", "user-mail", "user-energy-certificate"):
        assert [h.text.strip() for h in find(answer.text, testid)] == ["–", "–"]  # none yet
    bad = session.post(
        url + "/grant", data={"ref": "bad ref!", "name": "X", "csrf": page_csrf(session, url)}
    )
    assert bad.status_code == 400
    assert len(grants.list_users("obj-1")) == 2


def test_properties_list_counts_searches_and_escapes(server, config):
    make_share(config, title="<script>alert(1)</script> Musterstraße")
    make_property(config, "obj-2", "Hauptstraße 1", files={"x.pdf": b"12345"})
    make_agent()
    session = log_in(server.url)
    tracking.append_rows(
        [
            tracking.to_row(
                tracking.Event(property="obj-1", channel="web", action="open", contact="4711")
            )
        ]
    )
    page = session.get(server.url + "/agent/properties")
    assert "<script>alert(1)</script>" not in page.text
    rows = {r.attrs["data-key"]: r for r in find(page.text, "property-row")}
    assert sorted(rows) == ["obj-1", "obj-2"]
    assert "nie" in rows["obj-2"].text  # no access yet, in German first
    found = session.get(server.url + "/agent/properties", params={"q": "HAUPTSTRASSE"})
    assert [r.attrs["data-key"] for r in find(found.text, "property-row")] == ["obj-2"]
    english = session.get(server.url + "/agent/properties", params={"lang": "en"})
    assert "Properties" in english.text


def test_create_property_with_the_cli_rules(server, config, cli):
    make_agent()
    session = log_in(server.url)
    url = server.url + "/agent/properties"
    answer = session.post(
        url,
        data={"key": "obj-7", "title": "Gartenweg 7", "csrf": page_csrf(session, url)},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    prop = Property.get(Property.key == "obj-7")
    assert prop.title == "Gartenweg 7" and prop.requires_consent is False
    for key in ("../x", ".hidden", "x" * 65, "obj-7"):
        bad = session.post(url, data={"key": key, "title": "T", "csrf": page_csrf(session, url)})
        assert bad.status_code == 400
    assert Property.select().count() == 1
    assert "obj-7" in cli("property", "list").output


def test_unknown_property_or_contact_is_404(server, config):
    make_agent()
    session = log_in(server.url)
    for path in ("/agent/properties/nope", "/agent/contacts/nope", "/agent/export/nope"):
        assert session.get(server.url + path).status_code == 404


def record(count: int, **fields) -> None:
    rows = [
        tracking.to_row(
            tracking.Event(
                **{"property": "obj-1", "channel": "web", "action": "download", **fields},
                path=f"doc-{i}.pdf",
            )
        )
        for i in range(count)
    ]
    tracking.append_rows(rows)


def test_tracking_pages_by_event_id_and_filters(server, config):
    make_share(config)
    make_agent()
    record(120, contact="4711")
    record(5, property="obj-2", contact="4711", action="open")
    record(3, contact="4712", action="open")
    session = log_in(server.url)
    url = server.url + "/agent/tracking"
    seen = []
    page = session.get(url, params={"property": "obj-1"})
    while True:
        ids = [int(r.attrs["data-id"]) for r in find(page.text, "event-row")]
        seen += ids
        older = find(page.text, "older")
        if not older:
            break
        page = session.get(server.url + older[0].attrs["href"].replace("&amp;", "&"))
    assert len(seen) == 123 and seen == sorted(seen, reverse=True) and len(set(seen)) == 123
    opens = session.get(url, params={"action": "open", "contact": "4711"})
    assert len(find(opens.text, "event-row")) == 5
    today = datetime.datetime.now(LOCAL_ZONE).date().isoformat()  # days of the agency's zone
    assert len(find(session.get(url, params={"from": today, "to": today}).text, "event-row")) == 50
    assert not find(session.get(url, params={"to": "2000-01-01"}).text, "event-row")
    for bad in (
        {"action": "drop"},
        {"from": "yesterday"},
        {"before": "1" * 30},
        {"property": "x" * 65},
    ):
        assert session.get(url, params=bad).status_code == 400


def test_tracking_csv_neutralises_formulas(server, config):
    make_share(config)
    make_agent()
    record(3, contact="4711", user_agent='=HYPERLINK("http://evil")')
    session = log_in(server.url)
    answer = session.get(server.url + "/agent/tracking.csv", params={"property": "obj-1"})
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 3
    assert all(r["user_agent"].startswith("'=") for r in rows)
    assert rows[0]["id"] > rows[-1]["id"] or len(rows) == 1


def test_contact_page_timeline_and_gdpr_export(server, config):
    make_share(config)
    make_agent()
    record(2, contact="4711", action="open")
    record(1, contact="9999", action="open")
    session = log_in(server.url)
    page = session.get(server.url + "/agent/contacts/4711")
    assert page.status_code == 200
    assert len(find(page.text, "event-row")) == 2
    assert [r.attrs["href"] for r in find(page.text, "report-link")] == ["/agent/report/obj-1/4711"]
    export = session.get(server.url + "/agent/export/4711")
    assert export.status_code == 200
    assert "attachment" in export.headers["Content-Disposition"]
    data = export.json()
    assert data["ref"] == "4711" and len(data["events"]) == 2
    assert data["grants"][0]["property"] == "obj-1"


def test_grant_for_unknown_contact_on_property_page_changes_nothing(server, config):
    make_property(config)
    make_agent()
    session = log_in(server.url)
    url = server.url + "/agent/properties/obj-1"
    answer = session.post(url + "/active", data={"ref": "nope", "csrf": page_csrf(session, url)})
    assert answer.status_code == 404
    assert Grant.select().count() == 0


def test_edit_title_and_consent_as_property_set_does(server, config, cli):
    make_property(config, requires_consent=False)
    make_agent()
    session = log_in(server.url)
    url = server.url + "/agent/properties/obj-1"
    answer = session.post(
        url + "/edit",
        data={"title": "Gartenweg 7, Fürth", "consent": "yes", "csrf": page_csrf(session, url)},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    shown = json.loads(cli("property", "show", "obj-1", "--json").output)
    assert shown["title"] == "Gartenweg 7, Fürth" and shown["consent_required"] is True
    for bad in ("", "zwei\nZeilen", "x" * 301):
        refused = session.post(url + "/edit", data={"title": bad, "csrf": page_csrf(session, url)})
        assert refused.status_code == 400
    assert Property.get().title == "Gartenweg 7, Fürth" and Property.get().requires_consent


def test_report_and_invitation_need_a_grant(server, config):
    make_share(config)
    make_property(config, "obj-2", "Leer")
    make_agent()
    session = log_in(server.url)
    assert session.get(server.url + "/agent/report/obj-2/4711").status_code == 404
    report = session.get(server.url + "/agent/report/obj-1/4711")
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    url = server.url + "/agent/properties/obj-2"
    answer = session.post(url + "/invite", data={"ref": "4711", "csrf": page_csrf(session, url)})
    assert answer.status_code == 404


def test_ticking_an_expired_grant_asks_for_a_new_date_first(server, config):
    make_share(config)
    expire_grant("obj-1", "4711", datetime.date(2020, 1, 31))
    make_agent()
    session = log_in(server.url)
    url = server.url + "/agent/properties/obj-1"
    assert find(session.get(url).text, "user-active")[0].attrs.get("checked") is None
    answer = session.post(
        url + "/active", data={"ref": "4711", "active": "yes", "csrf": page_csrf(session, url)}
    )
    assert answer.status_code == 400
    assert "Gültig bis" in find(answer.text, "dash-message")[0].text
    assert grant_row().expires == datetime.date(2020, 1, 31)
