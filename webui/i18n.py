"""The contact page's words in German (first) and English, and how a language is chosen.

Order: ``?lang=`` (the switch, remembered in a cookie), the cookie, ``Accept-Language``,
German.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("de", "en")
DEFAULT = "de"
COOKIE = "lang"

try:
    LOCAL_ZONE = ZoneInfo("Europe/Berlin")
except ZoneInfoNotFoundError:  # no tz database on this machine: show UTC
    LOCAL_ZONE = datetime.UTC

# Written out rather than strftime("%b"): that follows the process's locale.
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

STRINGS = {
    "de": {
        "documents": "Unterlagen",
        "logo_alt": "Logo",
        "consent_intro": "Bevor Sie die Unterlagen einsehen können, lesen Sie bitte die "
        "Widerrufsbelehrung und bestätigen Sie die beiden Erklärungen.",
        "widerruf_heading": "Widerrufsbelehrung und Muster-Widerrufsformular",
        "agb_heading": "Allgemeine Geschäftsbedingungen",
        "text_version": "Fassung {version}",
        "german_only": "",
        "consent_legend": "Ihre Erklärungen",
        "consent_pdf": "Texte speichern (PDF)",
        "preview_consent_note": "Vorschau: Hier kreuzt Ihr Kunde die Erklärungen an. In der "
        "Vorschau wird nichts angekreuzt und nichts gespeichert.",
        "preview_consent_next": "Weiter zu den Unterlagen (Vorschau)",
        "consent_submit": "Zustimmen und Unterlagen anzeigen",
        "consent_missing": "Bitte bestätigen Sie alle Erklärungen, um fortzufahren. "
        "Es fehlt: {missing}.",
        "consent_changed": "Die Texte wurden soeben aktualisiert. Bitte lesen Sie die neue "
        "Fassung und bestätigen Sie erneut.",
        "consent_expired_form": "Das Formular ist abgelaufen. Bitte bestätigen Sie erneut.",
        "consent_confirmation_to": "Vielen Dank. Die Bestätigung mit der Widerrufsbelehrung "
        "und Ihren Erklärungen geht per E-Mail an {address}.",
        "consent_unavailable_heading": "Ihre Zustimmung kann gerade nicht entgegengenommen werden",
        "consent_refused_mail_not_configured": "Wir bestätigen Ihnen die Widerrufsbelehrung "
        "und Ihre Erklärungen per E-Mail, und der E-Mail-Versand ist hier noch nicht "
        "eingerichtet. Es wurde nichts gespeichert; die Unterlagen bleiben bis dahin "
        "gesperrt. Bitte versuchen Sie es später noch einmal.",
        "consent_refused_no_address": "Wir bestätigen Ihnen die Widerrufsbelehrung und Ihre "
        "Erklärungen per E-Mail, aber für Sie ist noch keine E-Mail-Adresse hinterlegt. Es "
        "wurde nichts gespeichert; die Unterlagen bleiben bis dahin gesperrt. Bitte teilen "
        "Sie uns Ihre E-Mail-Adresse mit und öffnen Sie diesen Link danach erneut.",
        "consent_refused_contact": "Bitte wenden Sie sich an Ihre Ansprechpartnerin / Ihren "
        "Ansprechpartner bei {agency}.",
        "consent_not_ready_title": "Unterlagen noch nicht freigegeben",
        "consent_not_ready_text": "Die Unterlagen können noch nicht angezeigt werden: Die "
        "Widerrufsbelehrung des Maklerbüros ist noch nicht vollständig hinterlegt. Bitte "
        "wenden Sie sich an Ihre Ansprechpartnerin / Ihren Ansprechpartner.",
        "statement_early_start": "Erklärung 1 (Beginn vor Ablauf der Widerrufsfrist)",
        "statement_widerruf": "Erklärung 2 (Kenntnis vom Erlöschen des Widerrufsrechts)",
        "statement_agb": "Erklärung 3 (AGB)",
        "privacy": "Datenschutz",
        "privacy_heading": "Datenschutzhinweise",
        "privacy_text": "Wir speichern, wann Sie diese Seite und welche Unterlagen Sie öffnen "
        "oder herunterladen, Ihre Zustimmung mit Zeitpunkt sowie eine gekürzte "
        "IP-Adresse und Ihren Browser – um Ihnen die Unterlagen bereitzustellen "
        "und die Belehrung nachweisen zu können (Art. 6 Abs. 1 lit. b, c und f "
        "DSGVO).",
        "privacy_retention": "Die Daten bleiben gespeichert, solange Ihr Zugang besteht "
        "und die Belehrung nachgewiesen werden muss. Sie haben das Recht auf Auskunft, "
        "Berichtigung, Löschung und Einschränkung der Verarbeitung, auf Widerspruch und auf "
        "Beschwerde bei einer Datenschutz-Aufsichtsbehörde.",
        "privacy_controller": "Verantwortlich für die Verarbeitung ist {agency}.",
        "privacy_controller_unknown": "Verantwortlich ist die Maklerfirma, die Ihnen Ihren "
        "Link gesendet hat; sie hat ihren Namen auf dieser Seite noch nicht angegeben.",
        "privacy_contact": "So erreichen Sie die Verantwortliche:",
        "privacy_no_tracking": "Diese Seite lädt nichts von anderen Anbietern: keine "
        "Schriften, keine Werbe- oder Analyse-Skripte.",
        "imprint": "Impressum",
        "legal_links": "Rechtliches",
        "agency_unknown": "Diese Seite nennt noch keine Maklerfirma.",
        "agency_unknown_hint": "Fragen Sie im Zweifel bei der Person nach, die Ihnen den "
        "Link gesendet hat.",
        "contact_person": "Ihre Ansprechperson",
        "phone": "Telefon",
        "email": "E-Mail",
        "link_expires": "Ihr Link ist gültig bis einschließlich {date}.",
        "not_found_person": "Ihre Ansprechperson für diese Unterlagen:",
        "search_label": "Dokumente durchsuchen",
        "search_button": "Suchen",
        "search_clear": "Suche löschen",
        "view_label": "Ansicht",
        "view_list": "Liste",
        "view_tiles": "Kacheln",
        "sort_label": "Sortieren",
        "sort_name": "Name",
        "sort_size": "Größe",
        "ascending": "aufsteigend",
        "descending": "absteigend",
        "zip": "Alle angezeigten herunterladen (ZIP, {size})",
        "open": "Öffnen",
        "download": "Herunterladen",
        "folder": "Ordner",
        "items": "{count} Einträge",
        "home": "Übersicht",
        "breadcrumb": "Sie sind hier",
        "empty_folder": "Dieser Ordner ist leer.",
        "no_results": "Keine Dokumente gefunden für „{query}“.",
        "results_for": "Suchergebnisse für „{query}“ im gesamten Bereich",
        "in_folder": "in {folder}",
        "preview_banner": "Vorschau — so sieht Ihr Kunde die Unterlagen. "
        "Downloads sind deaktiviert.",
        "language": "Sprache",
        "not_found_title": "Link nicht gültig",
        "not_found_heading": "Dieser Link ist nicht (mehr) gültig.",
        "not_found_text": "Bitte wenden Sie sich an Ihre Ansprechpartnerin / Ihren "
        "Ansprechpartner.",
        "not_found_contact": "Ihr Ansprechpartner: {agency}",
        "empty_zip_title": "Nichts zum Herunterladen",
        "empty_zip_text": "In der aktuellen Auswahl sind keine Dokumente. Ändern Sie die "
        "Suche oder öffnen Sie einen anderen Ordner.",
        "back": "Zurück zu den Unterlagen",
        "forbidden_title": "In der Vorschau nicht verfügbar",
        "forbidden_text": "Downloads sind in der Vorschau deaktiviert.",
        "error_title": "Etwas ist schiefgegangen",
        "error_text": "Bitte versuchen Sie es in einem Moment noch einmal.",
        "main_content": "Zum Inhalt springen",
    },
    "en": {
        "documents": "Documents",
        "logo_alt": "Logo",
        "consent_intro": "Before you can view the documents, please read the cancellation "
        "policy and confirm both statements.",
        "widerruf_heading": "Cancellation policy and model withdrawal form",
        "agb_heading": "General terms and conditions",
        "text_version": "Version {version}",
        "german_only": "The legally binding text is in German.",
        "consent_legend": "Your statements",
        "consent_pdf": "Save texts (PDF)",
        "preview_consent_note": "Preview: this is where your client ticks the statements. "
        "Nothing is ticked or stored in the preview.",
        "preview_consent_next": "On to the documents (preview)",
        "consent_submit": "Agree and show documents",
        "consent_missing": "Please confirm every statement to continue. Missing: {missing}.",
        "consent_changed": "The texts have just been updated. Please read the new version "
        "and confirm again.",
        "consent_expired_form": "The form has expired. Please confirm again.",
        "consent_confirmation_to": "Thank you. The confirmation with the cancellation policy "
        "and your statements is being e-mailed to {address}.",
        "consent_unavailable_heading": "Your consent cannot be accepted right now",
        "consent_refused_mail_not_configured": "We confirm the cancellation policy and your "
        "statements to you by e-mail, and sending e-mail is not set up here yet. Nothing "
        "was stored; the documents stay locked until then. Please try again later.",
        "consent_refused_no_address": "We confirm the cancellation policy and your statements "
        "to you by e-mail, but we have no e-mail address for you yet. Nothing was stored; "
        "the documents stay locked until then. Please let us know your e-mail address and "
        "open this link again afterwards.",
        "consent_refused_contact": "Please contact your agent at {agency}.",
        "consent_not_ready_title": "Documents not released yet",
        "consent_not_ready_text": "The documents cannot be shown yet: the agency has not "
        "completed its cancellation policy. Please contact your agent.",
        "statement_early_start": "statement 1 (start before the withdrawal period ends)",
        "statement_widerruf": "statement 2 (right of withdrawal ends on performance)",
        "statement_agb": "statement 3 (terms and conditions)",
        "privacy": "Privacy",
        "privacy_heading": "Privacy notice",
        "privacy_text": "We store when you open this page and which documents you open or "
        "download, your consent with its time, a shortened IP address and your "
        "browser — to provide the documents and to prove the cancellation "
        "policy was given (Art. 6(1)(b), (c) and (f) GDPR).",
        "privacy_retention": "The data is kept while your access lasts and while the "
        "cancellation policy must be proven. You have the right of access, rectification, "
        "erasure and restriction, to object, and to lodge a complaint with a data "
        "protection authority.",
        "privacy_controller": "The controller is {agency}.",
        "privacy_controller_unknown": "The controller is the agency that sent you this "
        "link; it has not given its name on this page yet.",
        "privacy_contact": "How to reach the controller:",
        "privacy_no_tracking": "This page loads nothing from elsewhere: no fonts, no "
        "advertising or analytics scripts.",
        "imprint": "Legal notice",
        "legal_links": "Legal",
        "agency_unknown": "This page does not name an agency yet.",
        "agency_unknown_hint": "If in doubt, ask the person who sent you the link.",
        "contact_person": "Your contact",
        "phone": "Phone",
        "email": "E-mail",
        "link_expires": "Your link is valid until {date} (inclusive).",
        "not_found_person": "Your contact for these documents:",
        "search_label": "Search documents",
        "search_button": "Search",
        "search_clear": "Clear search",
        "view_label": "View",
        "view_list": "List",
        "view_tiles": "Tiles",
        "sort_label": "Sort",
        "sort_name": "Name",
        "sort_size": "Size",
        "ascending": "ascending",
        "descending": "descending",
        "zip": "Download all shown (ZIP, {size})",
        "open": "Open",
        "download": "Download",
        "folder": "Folder",
        "items": "{count} items",
        "home": "Overview",
        "breadcrumb": "You are here",
        "empty_folder": "This folder is empty.",
        "no_results": "No documents found for “{query}”.",
        "results_for": "Search results for “{query}” across all documents",
        "in_folder": "in {folder}",
        "preview_banner": "Preview — this is how your client sees the documents. "
        "Downloads are disabled.",
        "language": "Language",
        "not_found_title": "Link not valid",
        "not_found_heading": "This link is not (or no longer) valid.",
        "not_found_text": "Please contact your agent.",
        "not_found_contact": "Your agent: {agency}",
        "empty_zip_title": "Nothing to download",
        "empty_zip_text": "There are no documents in the current selection. Change the search "
        "or open another folder.",
        "back": "Back to the documents",
        "forbidden_title": "Not available in the preview",
        "forbidden_text": "Downloads are disabled in the preview.",
        "error_title": "Something went wrong",
        "error_text": "Please try again in a moment.",
        "main_content": "Skip to content",
    },
}


def choose_language(query_lang: str | None, cookie_lang: str | None, accept_language) -> str:
    """``accept_language`` is werkzeug's ``LanguageAccept`` (or anything with best_match)."""
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGUAGES:
            return candidate
    return accept_language.best_match(LANGUAGES, default=DEFAULT) or DEFAULT


class Translator:
    """``t("key", **values)`` in templates."""

    def __init__(self, lang: str):
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self._strings = STRINGS[self.lang]

    def __call__(self, key: str, **values) -> str:
        text = self._strings[key]
        return text.format(**values) if values else text

    def size(self, size: int) -> str:
        """Human units, German decimal comma: "2,4 MB"."""
        value = float(size)
        for unit in ("B", "KB", "MB", "GB", "TB"):
            if value < 1000 or unit == "TB":
                break
            value /= 1000
        text = f"{value:.0f}" if unit == "B" or value >= 100 else f"{value:.1f}"
        if self.lang == "de":
            text = text.replace(".", ",")
        return f"{text} {unit}"

    def date(self, mtime: float) -> str:
        """A file's date in local time: "12.11.2026", in English "12 Nov 2026"."""
        return self.day(datetime.datetime.fromtimestamp(mtime, LOCAL_ZONE).date())

    def day(self, day: datetime.date) -> str:
        if self.lang == "de":
            return f"{day.day:02d}.{day.month:02d}.{day.year}"
        return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
