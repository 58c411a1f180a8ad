"""A CRM's HTTP client for ``/api/v1/`` that checks every response it receives
against the server's own ``/api/v1/openapi.json`` (openapi-core), so a test cannot
pass on a response the document does not describe."""

from __future__ import annotations

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_spec_validator import validate


class CheckedApi:
    """``api.post("/contacts", key=..., json=...)``: the path is below ``/api/v1``;
    the response is returned after it validated."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        document = self.session.get(f"{self.base_url}/api/v1/openapi.json", timeout=30)
        document.raise_for_status()
        self.document = document.json()
        validate(self.document)
        self.openapi = OpenAPI.from_dict(self.document)
        self.checked = 0

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        response = self.session.request(
            method, f"{self.base_url}/api/v1{path}", headers=headers, timeout=30, **kwargs
        )
        self.openapi.validate_response(
            RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
        )
        self.checked += 1
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
