"""An API test client on SQLite only, for tests about HTTP answers rather than storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from openpss.platform.app import create_app
from openpss.platform.security.models import Role
from openpss.platform.security.tokens import create_api_token
from openpss.platform.settings import Settings
from tests.conftest import Api, add_account

PASSWORD = "Str0ng!Passw0rd"


def sqlite_api_for(sqlite_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app on SQLite only (for a fixture) with one account and bearer token per role."""
    settings = Settings(
        environment="test", data_dir=tmp_path / "data", database_url=sqlite_url,
        secret_key="test-secret-key-0123456789", background_services=False,
    )  # fmt: skip
    app = create_app(settings)
    tokens: dict[Role, str] = {}
    with app.state.session_factory() as s:
        for role in Role:
            account = add_account(s, f"test-{role.value}", role, PASSWORD)
            tokens[role], _ = create_api_token(session=s, account=account, name="tests")
        s.commit()
    with TestClient(app) as client:
        yield Api(client, tokens)
    app.state.engine.dispose()
