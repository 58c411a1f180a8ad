"""Request bodies of the API: one JSON object, bounded in size, each field of the
declared type; anything else is refused before a domain function runs.

The size is checked against ``Content-Length`` before a byte is read, and reading
stops one byte past the limit when the length is not declared. The domain checks
what the values mean (key syntax, lengths, e-mail, dates): the same functions as
the CLI's.
"""

from __future__ import annotations

import dataclasses
import json

from werkzeug.wrappers import Request

from webui.api.responses import ApiError

#: Far above any real body (a grant is about 100 bytes), far below what could hurt.
MAX_BODY_BYTES = 16 * 1024


@dataclasses.dataclass(frozen=True)
class Field:
    """One member of a body: its JSON type, and whether it must be there or may be null."""

    kind: type  # str or bool
    required: bool = False
    nullable: bool = False

    @property
    def type_name(self) -> str:
        name = {str: "a string", bool: "true or false"}[self.kind]
        return f"{name} or null" if self.nullable else name


def read_object(request: Request, fields: dict[str, Field]) -> dict:
    """The body as a dict holding only ``fields`` (absent optional fields left out).

    :raises ApiError: 413 too large, 400 not JSON, 422 not an object of these fields.
    """
    data = _parse(_read_bounded(request))
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ApiError(422, f"unknown field {unknown[0][:40]!r}; known: {', '.join(fields)}")
    for name, field in fields.items():
        if name not in data:
            if field.required:
                raise ApiError(422, f"the field {name!r} is required")
            continue
        value = data[name]
        if value is None and field.nullable:
            continue
        if type(value) is not field.kind:
            raise ApiError(422, f"the field {name!r} must be {field.type_name}")
    return data


def _read_bounded(request: Request) -> bytes:
    too_large = ApiError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    return raw


def _parse(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "the body is not valid JSON (UTF-8)", "malformed_json") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")
