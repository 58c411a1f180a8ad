"""The one route table of the web side.

An endpoint is either the name of a ``WebApp.on_<name>`` method or a handler
function ``handler(app, request, **values)``.
"""

from werkzeug.routing import Map, Rule

from gateway import urls
from webui import consent_form, dashboard, legal, share, static
from webui.api import contacts, events, grants, openapi, properties

READ = ["GET", "HEAD"]
# The contact page (/s/) and its preview (/p/) share every URL; see webui/share.py.
LINK = f"/<any({urls.SHARE[1:]}, {urls.PREVIEW[1:]}):prefix>/<token>"
API = urls.API
# A contact ref may hold '/', hence <path:ref>.
API_ROUTES = [
    Rule(f"{API}/openapi.json", endpoint=openapi.serve_document, methods=["GET"]),
    Rule(f"{API}/events", endpoint=events.list_events, methods=["GET"]),
    Rule(f"{API}/properties", endpoint=properties.list_properties, methods=["GET"]),
    Rule(f"{API}/properties", endpoint=properties.create_property, methods=["POST"]),
    Rule(f"{API}/properties/<property_key>", endpoint=properties.show_property, methods=["GET"]),
    Rule(
        f"{API}/properties/<property_key>", endpoint=properties.change_property, methods=["PATCH"]
    ),
    Rule(f"{API}/properties/<property_key>/users", endpoint=properties.list_users, methods=["GET"]),
    Rule(f"{API}/contacts", endpoint=contacts.create_contact, methods=["POST"]),
    Rule(f"{API}/contacts/<path:ref>", endpoint=contacts.show_contact, methods=["GET"]),
    Rule(f"{API}/contacts/<path:ref>", endpoint=contacts.change_contact, methods=["PATCH"]),
    Rule(f"{API}/grants", endpoint=grants.create_grant, methods=["POST"]),
    Rule(
        f"{API}/grants/<property_key>/<path:ref>", endpoint=grants.revoke_grant, methods=["DELETE"]
    ),
]

URL_MAP = Map(
    [
        Rule(urls.HEALTH, endpoint="healthz", methods=["GET", "HEAD"]),
        *API_ROUTES,
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
        *dashboard.RULES,  # the agents' dashboard, /agent/ (webui/dashboard/)
    ],
    strict_slashes=False,
)
