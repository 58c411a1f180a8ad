"""The one route table of the web side."""

from werkzeug.routing import Map, Rule

URL_MAP = Map(
    [
        Rule("/healthz", endpoint="healthz", methods=["GET", "HEAD"]),
        Rule("/s/<token>", endpoint="share", methods=["GET", "HEAD"]),
        Rule("/s/<token>/", endpoint="share", methods=["GET", "HEAD"]),
    ],
    strict_slashes=False,
)
