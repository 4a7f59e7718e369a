"""Bearer tokens authenticate API calls; roles are enforced."""

from __future__ import annotations

from fastapi import APIRouter

from openpss.platform.deps import Admin
from openpss.platform.security.models import Role
from tests.conftest import Api


def test_openapi_served(api: Api) -> None:
    response = api.client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "openpss"


def test_bad_token_is_401(api: Api) -> None:
    app = api.client.app
    router = APIRouter()

    @router.get("/api/v1/_admin-only")
    def admin_only(principal: Admin) -> dict[str, str]:
        return {"user": principal.username}

    app.include_router(router)  # type: ignore[attr-defined]
    assert api.client.get("/api/v1/_admin-only").status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert api.client.get("/api/v1/_admin-only", headers=bad).status_code == 401
    viewer = api.client.get("/api/v1/_admin-only", headers=api.headers(Role.viewer))
    assert viewer.status_code == 403
    assert "administrator role" in viewer.json()["detail"]
    ok = api.client.get("/api/v1/_admin-only", headers=api.headers(Role.administrator))
    assert ok.json() == {"user": "test-administrator"}
