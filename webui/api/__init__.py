"""The CRM's API under ``/api/v1/``: tracking events and provisioning (properties,
contacts, grants, who has access), described by ``openapi.yaml`` (served as
``/api/v1/openapi.json``).

One module per resource; each handler reads its input through :mod:`.body`, calls
one domain function and answers JSON. :mod:`.endpoint` is the one place that checks
the bearer key and its scope, runs a writing request in one transaction and turns
domain errors into ``{"error": {"code", "message"}}``. The routes are in
``webui/routes.py`` with the rest of the site.
"""
