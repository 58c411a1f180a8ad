"""The consent texts of ``immoshare demo``: complete, with the demo agency's details
filled in, and marked as a demonstration in their first and last lines.

They let a newcomer click through the whole consent without editing the shipped
sample, whose bracketed parts must be filled in before any contact sees it. Never
use them for real contacts: no lawyer has checked them for your agency.
"""

from __future__ import annotations

DEMO_AGENCY = "Muster Immobilien GmbH (Demo)"
DEMO_SENDER = "unterlagen@muster-immobilien.example"

_MARK = (
    "DEMO – dieser Text gehört zur Vorführung von immoshare (immoshare demo) und ist "
    "für echte Interessenten nicht bestimmt."
)
_AGENCY_LINE = (
    "Muster Immobilien GmbH (Demo), Musterstraße 1, 90402 Nürnberg, Telefon 0911 000000, "
    f"E-Mail {DEMO_SENDER}"
)

WIDERRUF = f"""{_MARK}

Widerrufsbelehrung

Widerrufsrecht

Sie haben das Recht, binnen vierzehn Tagen ohne Angabe von Gründen diesen Vertrag zu widerrufen.

Die Widerrufsfrist beträgt vierzehn Tage ab dem Tag des Vertragsabschlusses.

Um Ihr Widerrufsrecht auszuüben, müssen Sie uns ({_AGENCY_LINE}) mittels einer eindeutigen \
Erklärung (z. B. ein mit der Post versandter Brief oder eine E-Mail) über Ihren Entschluss, diesen \
Vertrag zu widerrufen, informieren. Sie können dafür das unten stehende Muster-Widerrufsformular \
verwenden, das jedoch nicht vorgeschrieben ist.

Zur Wahrung der Widerrufsfrist reicht es aus, dass Sie die Mitteilung über die Ausübung des \
Widerrufsrechts vor Ablauf der Widerrufsfrist absenden.

Folgen des Widerrufs

Wenn Sie diesen Vertrag widerrufen, haben wir Ihnen alle Zahlungen, die wir von Ihnen erhalten \
haben, unverzüglich und spätestens binnen vierzehn Tagen ab dem Tag zurückzuzahlen, an dem die \
Mitteilung über Ihren Widerruf dieses Vertrags bei uns eingegangen ist.

Haben Sie verlangt, dass die Dienstleistungen während der Widerrufsfrist beginnen sollen, so haben \
Sie uns einen angemessenen Betrag zu zahlen, der dem Anteil der bis zu dem Zeitpunkt, zu dem Sie \
uns von der Ausübung des Widerrufsrechts hinsichtlich dieses Vertrags unterrichten, bereits \
erbrachten Dienstleistungen im Vergleich zum Gesamtumfang der im Vertrag vorgesehenen \
Dienstleistungen entspricht.

Besonderer Hinweis

Ihr Widerrufsrecht erlischt vorzeitig, wenn wir die Dienstleistung vollständig erbracht haben und \
mit der Ausführung der Dienstleistung erst begonnen haben, nachdem Sie dazu Ihre ausdrückliche \
Zustimmung gegeben und gleichzeitig Ihre Kenntnis davon bestätigt haben, dass Sie Ihr \
Widerrufsrecht bei vollständiger Vertragserfüllung durch uns verlieren.

Ende der Widerrufsbelehrung

Muster-Widerrufsformular

(Wenn Sie den Vertrag widerrufen wollen, dann füllen Sie bitte dieses Formular aus und senden Sie \
es zurück.)

An {_AGENCY_LINE}:

Hiermit widerrufe(n) ich/wir (*) den von mir/uns (*) abgeschlossenen Vertrag über die Erbringung \
der folgenden Dienstleistung: Maklertätigkeit für das Objekt ____________________

Abgeschlossen am (*) / erhalten am (*): ____________________

Name des/der Verbraucher(s): ____________________

Anschrift des/der Verbraucher(s): ____________________

Unterschrift des/der Verbraucher(s) (nur bei Mitteilung auf Papier): ____________________

Datum: ____________________

(*) Unzutreffendes streichen.

{_MARK}"""

AGB = f"""{_MARK}

Allgemeine Geschäftsbedingungen der Muster Immobilien GmbH (Demo)

1. Vertraulichkeit. Alle Angaben und Unterlagen zu dem Objekt sind ausschließlich für Sie \
bestimmt. Eine Weitergabe an Dritte ist nur mit unserer vorherigen Zustimmung erlaubt.

2. Vorkenntnis. Ist Ihnen das Objekt bereits bekannt, teilen Sie uns dies bitte unverzüglich, \
spätestens innerhalb von sieben Tagen mit.

3. Provision. Kommt durch unseren Nachweis oder unsere Vermittlung ein Vertrag über das Objekt \
zustande, schulden Sie die im Exposé genannte Provision.

4. Gerichtsstand und anwendbares Recht. Es gilt deutsches Recht.

{_MARK}"""
