"""The consent gate: the Widerrufsbelehrung, the AGB where set, and one unticked
checkbox per statement, before any file or file name is shown.

While no complete Widerrufsbelehrung is set (only the sample), the page says the
documents are not released yet, and nothing is accepted. Submitting with a box
missing shows the form again with the ticked boxes kept and a
message naming what is missing. The form names the text versions it showed; if a
new version was set meanwhile, the contact is asked to read it first.

Where the confirmation must be mailed (``consent_requires_mail``) and cannot be (no
mail set up, no address), the form is replaced by a page that says so, and nothing
is recorded (``gateway.services.durable_medium``). After consent, the share page
names the partly masked address the confirmation goes to.

The texts are shown structured (``webui.legal_text``), and "Texte speichern (PDF)"
gives the very PDF the confirmation mail carries (``consent_pdf``). The agent's
preview starts with this page too, exactly as the contact sees it, but with nothing
to tick: its button only leads on to the share (a cookie of that browser remembers
it), and nothing is recorded.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from gateway.numbers import whole_number_or_none
from gateway.security import link_secret
from gateway.services import branding, consent, consent_pdf, durable_medium
from webui import csrf
from webui.context import language, page_context, remember_choices
from webui.files import content_disposition
from webui.legal_text import render_legal_text
from webui.viewer import Viewer, load_viewer

# Form field and data-testid of each statement's checkbox (INTERFACE.md).
CHECKBOXES = {
    consent.EARLY_START: ("early_start", "consent-early-start"),
    consent.WIDERRUF: ("widerruf", "consent-widerruf"),
    consent.AGB: ("agb", "consent-agb"),
}


#: The share page's query parameter after a consent: show where the confirmation goes.
CONSENTED_PARAM = "consented"

#: The preview's note that its consent step was shown (a session cookie of the
#: agent's browser, scoped to that preview link).
PREVIEW_GATE_COOKIE = "preview_gate"

# Status of the refusal page, by reason: the operator must set up mail (503), or
# the agent must add the contact's address (409).
REFUSAL_STATUS = {durable_medium.MAIL_NOT_CONFIGURED: 503, durable_medium.NO_ADDRESS: 409}


def preview_needs_gate(request: Request, viewer: Viewer) -> bool:
    """A preview of a property that asks for consent starts with the consent step,
    until its button was pressed in this browser (the cookie is scoped to the link)."""
    return (
        viewer.is_preview
        and viewer.property.requires_consent
        and request.cookies.get(PREVIEW_GATE_COOKIE) != "shown"
    )


def show_form(
    app,
    request: Request,
    viewer,
    *,
    status: int = 200,
    message: str | None = None,
    ticked: frozenset[str] = frozenset(),
    missing: tuple[str, ...] = (),
) -> Response:
    if viewer.grant is not None:
        blocker = durable_medium.consent_blocker(app.config, viewer.grant.contact)
        if blocker is not None:
            return refuse(app, request, viewer, blocker)
    try:
        texts = consent.current_texts()
    except consent.TextsNotReady:
        return not_ready(app, request)
    context = page_context(app, request)
    lang = context["lang"]
    statements = [
        {
            "id": sid,
            "field": CHECKBOXES[sid][0],
            "testid": CHECKBOXES[sid][1],
            "text": consent.STATEMENTS[sid][lang],
            "checked": sid in ticked,
            "missing": sid in missing,
        }
        for sid in texts.statement_ids
    ]
    cookie = None if viewer.is_preview else csrf.cookie_value(request) or csrf.new_cookie_value()
    response = app.render(
        "consent/form.html",
        status=status,
        title=viewer.property.title,
        viewer=viewer,
        widerruf=texts.widerruf,
        widerruf_html=render_legal_text(texts.widerruf.body),
        agb=texts.agb,
        agb_html=render_legal_text(texts.agb.body) if texts.agb else "",
        statements=statements,
        message=message,
        pdf_url=viewer.url(TEXTS_PDF),
        csrf_token=(
            csrf.form_token(link_secret(app.config), cookie, viewer.grant.nonce) if cookie else ""
        ),
        **context,
    )
    if cookie is None:
        return remember_choices(request, response)
    response.set_cookie(
        csrf.COOKIE,
        cookie,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.scheme == "https",
    )
    return remember_choices(request, response)


def not_ready(app, request: Request) -> Response:
    """No complete Widerruf text is set: a sample is never shown, nothing is accepted."""
    return app.render("consent/not_ready.html", status=503, **page_context(app, request))


def submit(app, request: Request, prefix: str, token: str) -> Response:
    viewer = load_viewer(app, request, prefix, token)
    if viewer is not None and viewer.is_preview:
        return _leave_preview_gate(request, viewer)
    if viewer is None or viewer.grant is None:
        return app.not_found(request)
    if not consent.needs_consent(viewer.grant):
        return redirect(viewer.url(""), 303)
    t = page_context(app, request)["t"]
    public_host = _public_host(app.config.base_url)
    if not csrf.valid(request, link_secret(app.config), viewer.grant.nonce, public_host):
        return show_form(app, request, viewer, status=400, message=t("consent_expired_form"))
    ticked = frozenset(
        sid for sid, (field, _) in CHECKBOXES.items() if request.form.get(field) == "yes"
    )
    try:
        consent.record_consent(
            app.config,
            viewer.grant,
            ticked=set(ticked),
            language=language(request),
            shown_versions={
                consent.WIDERRUF: whole_number_or_none(request.form.get("widerruf_version")),
                consent.AGB: whole_number_or_none(request.form.get("agb_version")),
            },
            ip=request.remote_addr,  # the client's, behind trusted proxies (gateway.serving.edge)
            user_agent=request.user_agent.string,
        )
    except consent.ConfirmationImpossible as exc:
        return refuse(app, request, viewer, exc.reason)
    except consent.TextsNotReady:
        return not_ready(app, request)
    except consent.TextsChanged:
        return show_form(
            app, request, viewer, status=409, message=t("consent_changed"), ticked=ticked
        )
    except consent.MissingStatements as exc:
        names = ", ".join(t(f"statement_{sid}") for sid in exc.missing)
        return show_form(
            app,
            request,
            viewer,
            status=400,
            message=t("consent_missing", missing=names),
            ticked=ticked,
            missing=tuple(exc.missing),
        )
    app.confirmations.kick()
    return redirect(viewer.url("", **{CONSENTED_PARAM: "1"}), 303)


def _leave_preview_gate(request: Request, viewer: Viewer) -> Response:
    """The preview's button: on to the share; nothing is recorded."""
    response = redirect(viewer.url(""), 303)
    response.set_cookie(
        PREVIEW_GATE_COOKIE,
        "shown",
        path=viewer.base,
        httponly=True,
        samesite="Lax",
        secure=request.scheme == "https",
    )
    return response


#: The consent texts' PDF under a link: ``/s/TOKEN/texts.pdf``.
TEXTS_PDF = "texts.pdf"


def texts_pdf(app, request: Request, prefix: str, token: str) -> Response:
    """The current texts as the PDF the confirmation mail carries ("Texte speichern
    (PDF)"), in the page's language; before consent too, and in the preview."""
    viewer = load_viewer(app, request, prefix, token)
    if viewer is None:
        return app.not_found(request)
    try:
        texts = consent.current_texts()
    except consent.TextsNotReady:  # a sample text never leaves the house, not as PDF
        return not_ready(app, request)
    lang = language(request)
    body = consent_pdf.consent_texts_pdf(
        texts.widerruf, texts.agb, lang=lang, agency=branding.get_branding(app.config).name
    )
    response = Response(body, content_type="application/pdf")
    value, options = content_disposition("attachment", consent_pdf.filename(lang))
    response.headers.set("Content-Disposition", value, **options)
    return response


def refuse(app, request: Request, viewer, reason: str) -> Response:
    """The page shown instead of the form while the confirmation cannot be mailed."""
    return app.render(
        "consent/unavailable.html",
        status=REFUSAL_STATUS.get(reason, 503),
        title=viewer.property.title,
        viewer=viewer,
        reason=reason,
        **page_context(app, request),
    )


def confirmation_address(request: Request, viewer) -> str | None:
    """Right after a consent: the masked address its confirmation goes to, or None
    (another visit, the preview, or no mail for this consent)."""
    if request.args.get(CONSENTED_PARAM) != "1" or viewer.grant is None:
        return None
    return durable_medium.confirmation_address(viewer.grant)


def _public_host(base_url: str | None) -> str | None:
    return urlsplit(base_url).netloc if base_url else None
