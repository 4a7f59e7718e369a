"""Personnel through the REST API, for the tests of people and of what builds on them."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from openpss.platform.security.models import Role
from tests.conftest import Api

P = "/api/v1/people"


def png_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    """A small PNG image (a valid face photo)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buffer, format="PNG")
    return buffer.getvalue()


def root_id(api: Api) -> int:
    """The id of the company (root department)."""
    return int(api.client.get(f"{P}/departments", headers=api.headers(Role.viewer)).json()["id"])


def add_person(api: Api, user_id: str, name: str, **extra: object) -> dict[str, Any]:
    """Add a person as an operator; the test fails if the API refuses it."""
    body = {"user_id": user_id, "name": name, **extra}
    response = api.client.post(f"{P}/persons", json=body, headers=api.headers(Role.operator))
    assert response.status_code == 201, response.text
    return dict(response.json())
