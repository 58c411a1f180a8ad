"""The one route table of the web side.

An endpoint is either the name of a ``WebApp.on_<name>`` method or a handler
function ``handler(app, request, **values)``.
"""

from werkzeug.routing import Map, Rule

from gateway import urls
from webui import consent_form, legal, share, static

READ = ["GET", "HEAD"]
# The contact page (/s/) and its preview (/p/) share every URL; see webui/share.py.
LINK = f"/<any({urls.SHARE[1:]}, {urls.PREVIEW[1:]}):prefix>/<token>"

URL_MAP = Map(
    [
        Rule(urls.HEALTH, endpoint="healthz", methods=["GET", "HEAD"]),
        Rule(f"{urls.API}/events", endpoint="api_events", methods=["GET"]),
        Rule(LINK, endpoint=share.page, methods=READ),
        Rule(LINK + "/", endpoint=share.page, methods=READ),
        Rule(LINK + "/browse/<path:folder>", endpoint=share.page, methods=READ),
        Rule(LINK + "/open/<path:path>", endpoint=share.open_file, methods=READ),
        Rule(LINK + "/download/<path:path>", endpoint=share.download_file, methods=READ),
        Rule(LINK + "/thumb/<path:path>", endpoint=share.thumbnail, methods=READ),
        Rule(LINK + "/zip", endpoint=share.zip_all, methods=READ),
        Rule(LINK + "/consent", endpoint=consent_form.submit, methods=["POST"]),
        Rule(f"{LINK}/{consent_form.TEXTS_PDF}", endpoint=consent_form.texts_pdf, methods=READ),
        Rule(LINK + "/<path:path>", endpoint=share.refuse_file, methods=READ),
        Rule(urls.IMPRINT, endpoint=legal.imprint, methods=READ),
        Rule(urls.PRIVACY, endpoint=legal.privacy, methods=READ),
        Rule(f"{urls.STATIC}/<path:name>", endpoint=static.serve_static, methods=READ),
        Rule("/branding/<name>", endpoint=static.serve_logo, methods=READ),
    ],
    strict_slashes=False,
)
