"""The request's database session commits before the response is sent (POST-redirect-GET safe)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from sqlalchemy import func, select

from openpss.platform.deps import Operator, SessionDep
from openpss.platform.security.audit import record_audit
from openpss.platform.security.models import AuditEntry, Role
from tests.conftest import Api


def test_commit_happens_before_the_response_is_sent(api: Api) -> None:
    app: Any = api.client.app
    seen: list[int] = []

    class Probe(Response):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            with app.state.session_factory() as other:
                query = select(func.count()).select_from(AuditEntry)
                seen.append(int(other.scalar(query.where(AuditEntry.action == "probe")) or 0))
            await super().__call__(scope, receive, send)

    router = APIRouter()

    @router.post("/api/v1/_probe")
    def probe(principal: Operator, session: SessionDep) -> Response:
        record_audit(session=session, actor=principal.actor, action="probe")
        return Probe(status_code=204)

    app.include_router(router)
    response = api.client.post("/api/v1/_probe", headers=api.headers(Role.operator))
    assert response.status_code == 204
    assert seen == [1]


def test_failed_route_rolls_back(api: Api) -> None:
    app: Any = api.client.app
    router = APIRouter()

    @router.post("/api/v1/_fail")
    def fail(principal: Operator, session: SessionDep) -> None:
        record_audit(session=session, actor=principal.actor, action="never")
        raise HTTPException(409, "refused")

    app.include_router(router)
    response = api.client.post("/api/v1/_fail", headers=api.headers(Role.operator))
    assert response.status_code == 409
    with app.state.session_factory() as s:
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "never")
        assert s.scalar(query) == 0
