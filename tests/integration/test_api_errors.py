"""One error shape for the API, the console's error pages, and the schema that documents both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, Request

from openpss.platform.deps import CurrentUser
from openpss.platform.errors import Conflict, Forbidden, Invalid, Locked, NotFound
from openpss.platform.security.errors import LoginRefused, NotBound
from openpss.platform.security.models import Role
from openpss.platform.security.passwords import PasswordRuleError
from openpss.platform.web.errors import status_of
from tests.conftest import Api
from tests.integration.api_support import PASSWORD, sqlite_api_for

SHAPE = {"detail", "code", "errors", "needed_role"}


@pytest.fixture
def sqlite_api(sqlite_url: str, tmp_path: Path) -> Iterator[Api]:
    yield from sqlite_api_for(sqlite_url, tmp_path)


def test_domain_error_kinds_map_to_one_status_each() -> None:
    assert status_of(NotFound("x")) == (404, "not_found")
    assert status_of(Conflict("x")) == (409, "conflict")
    assert status_of(PasswordRuleError("too short")) == (422, "invalid")
    assert PasswordRuleError("too short").loc == ("password",)
    assert status_of(NotBound("bound")) == (403, "forbidden")
    assert status_of(LoginRefused("wrong")) == (401, "unauthenticated")
    import datetime as dt

    assert status_of(Locked("account bob", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))[0] == 423
    assert Forbidden("no", needed_role="operator").needed_role == "operator"
    assert Invalid("bad", field="name").loc == ("name",)


def test_not_found_has_the_one_error_shape(sqlite_api: Api) -> None:
    answer = sqlite_api.client.get("/api/v1/people/persons/999", headers=sqlite_api.headers())
    assert answer.status_code == 404
    assert answer.json() == {
        "detail": "person 999 does not exist",
        "code": "not_found",
        "errors": [],
        "needed_role": None,
    }


def test_missing_role_travels_as_data_not_in_the_message(sqlite_api: Api) -> None:
    answer = sqlite_api.client.get("/api/v1/accounts", headers=sqlite_api.headers(Role.viewer))
    assert answer.status_code == 403
    body = answer.json()
    assert set(body) == SHAPE and body["code"] == "forbidden"
    assert body["needed_role"] == "administrator"


def test_unauthenticated_is_401_with_bearer_challenge(sqlite_api: Api) -> None:
    answer = sqlite_api.client.get("/api/v1/people/persons")
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["code"] == "unauthenticated"


def test_validation_and_domain_422_share_the_shape(sqlite_api: Api) -> None:
    headers = sqlite_api.headers()
    validation = sqlite_api.client.post("/api/v1/people/departments", json={}, headers=headers)
    assert validation.status_code == 422
    body = validation.json()
    assert set(body) == SHAPE and body["code"] == "invalid"
    assert isinstance(body["detail"], str) and "name" in body["detail"]
    assert body["errors"] and body["errors"][0]["loc"][0] == "body"
    domain = sqlite_api.client.post(
        "/api/v1/accounts",
        json={"username": "weak", "password": "short", "role": "viewer"},
        headers=headers,
    )
    assert domain.status_code == 422
    body = domain.json()
    assert set(body) == SHAPE and body["code"] == "invalid"
    assert body["errors"] == [{"loc": ["password"], "msg": body["detail"], "type": "invalid"}]


def test_console_unknown_page_is_the_html_error_page(sqlite_api: Api) -> None:
    client = sqlite_api.client
    client.cookies.clear()
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="error-page"' in page.text and "Not found" in page.text
    fragment = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.text
    assert fragment.headers["X-Openpss-Page"] == "error"
    api = client.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json()["code"] == "not_found"


def test_console_domain_not_found_is_the_html_error_page(sqlite_api: Api) -> None:
    client = sqlite_api.client
    login = client.post(
        "/login", data={"username": "test-operator", "password": PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303
    page = client.get("/people/persons/999/edit")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "person 999 does not exist" in page.text and 'id="error-page"' in page.text
    assert "Log out" in page.text  # the navigation of the logged-in operator


def test_openapi_documents_errors_and_bearer_scheme(sqlite_api: Api) -> None:
    schema = sqlite_api.client.get("/api/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    error_ref = "#/components/schemas/ErrorBody"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "404", "409", "422"):
                documented = operation["responses"].get(status)
                assert documented, f"{method.upper()} {path} does not document {status}"
                ref = documented["content"]["application/json"]["schema"]["$ref"]
                assert ref == error_ref, f"{method.upper()} {path} {status}: {ref}"


def test_principal_is_left_on_request_state_by_the_dependency(sqlite_api: Api) -> None:
    router = APIRouter()

    @router.get("/api/v1/_whoami")
    def whoami(request: Request, _: CurrentUser) -> dict[str, str]:
        return {"user": request.state.principal.username}

    sqlite_api.client.app.include_router(router)  # type: ignore[attr-defined]
    answer = sqlite_api.client.get("/api/v1/_whoami", headers=sqlite_api.headers(Role.viewer))
    assert answer.json() == {"user": "test-viewer"}
