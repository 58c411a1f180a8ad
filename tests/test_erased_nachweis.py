"""After ``contact erase`` the Nachweis still proves the consent: the report of the
erased contact shows it with its full texts and their sha256, and the hash chain
verifies; after ``--include-evidence`` there is nothing left to report."""

from __future__ import annotations

import json

import requests

from gateway.models import ConsentText
from tests.factories import make_contact, make_grant, make_property
from tests.mail_tools import submit_consent


def test_the_nachweis_shows_the_consent_of_an_erased_contact(config, server, cli):
    make_property(config, "obj-1", "Musterstraße 5", requires_consent=True, files={"a.pdf": b"%P"})
    make_contact("4711", "Erika Muster", email="erika@example.de")
    link = make_grant(config, "obj-1", "4711").link
    consented = submit_consent(requests.Session(), server.url + "/s/" + link.rsplit("/s/", 1)[1])
    assert consented.status_code == 303, consented.text[:300]

    erased = cli("contact", "erase", "4711", "--yes")
    assert erased.exit_code == 0, erased.output
    report = cli("report", "obj-1", "4711", "--json")
    assert report.exit_code == 0, report.output
    facts = json.loads(report.stdout)
    text = json.dumps(facts, ensure_ascii=False)
    widerruf = ConsentText.select().where(ConsentText.kind == "widerruf").get()
    assert widerruf.sha256 in text and "Erika Muster" in text
    assert widerruf.body.splitlines()[0] in text  # the text itself, not only its digest
    assert cli("tracking", "verify").exit_code == 0

    assert cli("contact", "erase", "4711", "--include-evidence", "--yes").exit_code == 0
    gone = cli("report", "obj-1", "4711", "--json")
    assert gone.exit_code == 1 and "Erika" not in gone.output
    assert cli("tracking", "verify").exit_code == 0
