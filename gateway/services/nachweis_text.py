"""The words of the Nachweis, German and English: one key per label or sentence.

Plain statements a lawyer can quote; where evidence is missing the text says so
outright rather than leaving a blank.
"""

from __future__ import annotations

TEXT = {
    "de": {
        "title": "Nachweis – {title}",
        "overview": "Übersicht",
        "agency": "Makler",
        "property": "Objekt",
        "generated_at": "Erstellt am",
        "intro": "Dieser Nachweis fasst aus den Aufzeichnungen von immoshare zusammen, was "
        "{name} zum Objekt „{title}“ erklärt und erhalten hat. Alle Zeiten sind in UTC "
        "angegeben; SHA-256 ist die Prüfsumme, an der sich jede Änderung eines Textes oder "
        "einer Datei zeigt.",
        "contact": "Kontakt",
        "ref": "Adressnummer",
        "name": "Name",
        "email": "E-Mail",
        "no_email": "keine hinterlegt",
        "granted_at": "Zugang erteilt am",
        "access": "Zugang",
        "access_active": "aktiv",
        "access_until": "aktiv bis {day}",
        "access_revoked": "widerrufen am {at}",
        "consent": "Zustimmung (Widerrufsbelehrung)",
        "consent_none": "Der Kontakt hat keine Zustimmung erteilt: es liegt keine Erklärung "
        "zum vorzeitigen Beginn und keine Bestätigung der Widerrufsbelehrung vor.",
        "consent_not_required": "Für dieses Objekt ist keine Zustimmung eingerichtet; der "
        "Kontakt hat keine Widerrufsbelehrung bestätigt.",
        "consent_at": "Zugestimmt am",
        "ip": "IP-Adresse (gekürzt)",
        "browser": "Browser",
        "language": "Sprache der Seite",
        "statements": "Abgegebene Erklärungen (jeweils einzeln angekreuzt)",
        "statements_unworded": "Der Wortlaut der Erklärungen wurde bei dieser Zustimmung "
        "noch nicht gespeichert; gespeichert ist, welche Erklärungen abgegeben wurden:",
        "early_start": "Vorzeitiger Beginn verlangt",
        "widerruf_acknowledged": "Widerrufsverlust bestätigt",
        "agb_accepted": "AGB akzeptiert",
        "text_widerruf": "Widerrufsbelehrung und Muster-Widerrufsformular, Fassung {version}",
        "text_agb": "Allgemeine Geschäftsbedingungen, Fassung {version}",
        "sha256": "SHA-256",
        "body_matches": "Text passt zur Prüfsumme",
        "text_missing": "Der Wortlaut dieser Fassung ist nicht mehr gespeichert.",
        "confirmation": "Bestätigung auf einem dauerhaften Datenträger",
        "mail_none": "Es existiert keine Bestätigung auf einem dauerhaften Datenträger: bei "
        "der Zustimmung wurde keine Bestätigungs-E-Mail versandt (kein Mailserver "
        "eingerichtet oder keine E-Mail-Adresse des Kontakts).",
        "mail_no_consent": "Ohne Zustimmung wurde keine Bestätigung versandt; es existiert "
        "keine Bestätigung auf einem dauerhaften Datenträger.",
        "mail_not_durable": "Die Bestätigungs-E-Mail wurde bisher nicht zugestellt; es "
        "existiert noch keine Bestätigung auf einem dauerhaften Datenträger. Letzter "
        "Fehler: {error}",
        "mail_state": "Versandstatus",
        "mail_pending": "wartet auf Versand",
        "mail_retrying": "Versand wird wiederholt",
        "mail_sent": "an den Mailserver übergeben",
        "mail_failed": "Versand endgültig fehlgeschlagen",
        "message_id": "Message-ID",
        "mail_sha256": "SHA-256 der E-Mail",
        "mail_sent_at": "Versendet am",
        "mail_attempts": "Zustellversuche",
        "not_recorded": "nicht erfasst",
        "documents": "Abgerufene Dokumente",
        "documents_none": "Der Kontakt hat keine Dokumente geöffnet oder heruntergeladen.",
        "documents_intro": "{n} Dokument(e) bzw. Fassung(en), nach dem ersten Zugriff "
        "geordnet. „Vollständig“ heißt: jedes Byte der Datei wurde gesendet.",
        "size": "Größe",
        "first": "Erster Zugriff",
        "last": "Letzter Zugriff",
        "bytes_sent": "Gesendet",
        "complete": "Vollständig",
        "channel": "Weg",
        "channel_web": "persönliche Webseite",
        "channel_webdav": "WebDAV",
        "channel_zip": "ZIP-Archiv",
        "bytes": "{n} Bytes",
        "yes": "ja",
        "no": "nein",
        "energy": "Energieausweis",
        "energy_not_marked": "Nicht markiert: für dieses Objekt ist kein Dokument als "
        "Energieausweis gekennzeichnet, daher kann seine Übergabe hier nicht belegt werden.",
        "document": "Dokument",
        "energy_delivered": "Übergeben",
        "energy_delivered_at": "Übergeben am",
        "chain": "Unversehrtheit der Aufzeichnungen",
        "chain_head_id": "Letztes Ereignis",
        "chain_head": "Kopf der Hash-Kette",
        "chain_result": "Prüfung der Kette",
        "chain_ok": "intakt – {n} Ereignis(se) geprüft, keines verändert, gelöscht oder umgestellt",
        "chain_broken": "GEBROCHEN bei Ereignis {id}: {reason}",
        "chain_note": "Jedes Ereignis ist mit dem vorigen über SHA-256 verkettet. Die Prüfung "
        "wurde beim Erstellen dieses Nachweises ausgeführt und lässt sich mit „immoshare "
        "tracking verify“ wiederholen. Bewahren Sie den Kopf der Hash-Kette mit diesem "
        "Nachweis auf: ein späteres Löschen der neuesten Ereignisse zeigt sich nur im "
        "Vergleich mit ihm.",
    },
    "en": {
        "title": "Evidence report – {title}",
        "overview": "Overview",
        "agency": "Agency",
        "property": "Property",
        "generated_at": "Generated",
        "intro": "This report summarises, from immoshare's records, what {name} declared "
        "and received for the property “{title}”. All times are UTC; SHA-256 is the "
        "checksum that shows any change to a text or file.",
        "contact": "Contact",
        "ref": "Reference",
        "name": "Name",
        "email": "E-mail",
        "no_email": "none on record",
        "granted_at": "Access granted",
        "access": "Access",
        "access_active": "active",
        "access_until": "active until {day}",
        "access_revoked": "revoked on {at}",
        "consent": "Consent (cancellation policy)",
        "consent_none": "The contact has not consented: there is no request for an early "
        "start and no acknowledgement of the cancellation policy.",
        "consent_not_required": "This property does not ask for consent; the contact has "
        "not acknowledged a cancellation policy.",
        "consent_at": "Consented",
        "ip": "IP address (shortened)",
        "browser": "Browser",
        "language": "Page language",
        "statements": "Statements given (each ticked separately)",
        "statements_unworded": "The wording of the statements was not yet stored with this "
        "consent; what is stored is which statements were given:",
        "early_start": "Early start requested",
        "widerruf_acknowledged": "Loss of withdrawal right known",
        "agb_accepted": "Terms accepted",
        "text_widerruf": "Cancellation policy and model withdrawal form, version {version}",
        "text_agb": "General terms and conditions, version {version}",
        "sha256": "SHA-256",
        "body_matches": "Text matches checksum",
        "text_missing": "The wording of this version is no longer stored.",
        "confirmation": "Confirmation on a durable medium",
        "mail_none": "No confirmation on a durable medium exists: no confirmation e-mail was "
        "sent at the consent (no mail server configured or no e-mail address of the "
        "contact).",
        "mail_no_consent": "Without consent no confirmation was sent; no confirmation on a "
        "durable medium exists.",
        "mail_not_durable": "The confirmation e-mail has not been delivered yet; no "
        "confirmation on a durable medium exists so far. Last error: {error}",
        "mail_state": "Delivery state",
        "mail_pending": "waiting to be sent",
        "mail_retrying": "being retried",
        "mail_sent": "handed to the mail server",
        "mail_failed": "finally failed",
        "message_id": "Message-ID",
        "mail_sha256": "SHA-256 of the e-mail",
        "mail_sent_at": "Sent",
        "mail_attempts": "Delivery attempts",
        "not_recorded": "not recorded",
        "documents": "Documents accessed",
        "documents_none": "The contact has not opened or downloaded any document.",
        "documents_intro": "{n} document(s) or version(s), by first access. “Complete” means "
        "every byte of the file was sent.",
        "size": "Size",
        "first": "First access",
        "last": "Last access",
        "bytes_sent": "Sent",
        "complete": "Complete",
        "channel": "Channel",
        "channel_web": "personal web page",
        "channel_webdav": "WebDAV",
        "channel_zip": "zip archive",
        "bytes": "{n} bytes",
        "yes": "yes",
        "no": "no",
        "energy": "Energy certificate",
        "energy_not_marked": "Not marked: no document of this property is marked as its "
        "energy certificate, so its delivery cannot be shown here.",
        "document": "Document",
        "energy_delivered": "Delivered",
        "energy_delivered_at": "Delivered at",
        "chain": "Integrity of the records",
        "chain_head_id": "Newest event",
        "chain_head": "Head of the hash chain",
        "chain_result": "Chain check",
        "chain_ok": "intact – {n} event(s) checked, none changed, deleted or reordered",
        "chain_broken": "BROKEN at event {id}: {reason}",
        "chain_note": "Each event is chained to the one before it by SHA-256. The check ran "
        "when this report was made and can be repeated with “immoshare tracking verify”. "
        "Keep the head of the hash chain with this report: a later deletion of the newest "
        "events only shows against it.",
    },
}
