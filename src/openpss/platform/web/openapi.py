"""OpenAPI declarations shared by the domains' routes: file answers and device errors."""

from __future__ import annotations

from typing import Any

from openpss.platform.web.errors import ErrorBody

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


def file_answer(*media_types: str, description: str = "The file") -> dict[int | str, Any]:
    """`responses=` of a route that answers 200 with a file of one of `media_types`
    (use with `response_class=Response`, so that no JSON body is documented)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": {t: binary for t in media_types}}}


# Routes that dial a device or a camera: it may not answer, or refuse what it is asked.
DEVICE_ERRORS: dict[int | str, Any] = {
    502: {"model": ErrorBody, "description": "The device or camera did not answer or refused"}
}

# Routes that take an upload: it may be larger than the limit.
UPLOAD_ERRORS: dict[int | str, Any] = {
    413: {"model": ErrorBody, "description": "The upload is larger than the limit"}
}
