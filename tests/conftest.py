"""Fixtures shared by every suite: databases (SQLite and PostgreSQL), the app, logged-in clients."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from openpss.platform.app import create_app
from openpss.platform.db import make_engine, make_session_factory, migrate
from openpss.platform.security.models import Account, Role
from openpss.platform.security.passwords import hash_password
from openpss.platform.security.tokens import create_api_token
from openpss.platform.settings import Settings
from tests.support.peers import peers_required
from tests.support.postgres import INSTALL_HINT, Cluster, find_bindir, throwaway_cluster

BACKENDS = ["sqlite", "postgresql"]
_counter = itertools.count()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """The throwaway PostgreSQL cluster, with a migrated template database."""
    bindir = find_bindir()
    if bindir is None:
        message = f"PostgreSQL server binaries not found; install them with: {INSTALL_HINT}"
        if peers_required():
            pytest.fail(message)
        pytest.skip(message)
    with throwaway_cluster(bindir) as cluster:
        admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE openpss_template"))
        admin.dispose()
        migrate(cluster.url("openpss_template"))
        yield cluster


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "openpss.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    request.applymarker(pytest.mark.postgres)
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name = f"t{next(_counter)}"
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE openpss_template"))
    yield cluster.url(name)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A freshly migrated SQLite database only (for tests that need no PostgreSQL run)."""
    path = tmp_path / "openpss.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """An ORM session on the fresh database."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as s:
        yield s
    engine.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Test settings pointing at the fresh database, no background services."""
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="test-secret-key-0123456789",
        background_services=False,
    )


@dataclass
class Api:
    """A TestClient plus the bearer headers of one account per role."""

    client: TestClient
    tokens: dict[Role, str]

    def headers(self, role: Role = Role.administrator) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def add_account(session: Session, username: str, role: Role, password: str) -> Account:
    """Create an account directly (bypassing the API) for tests."""
    account = Account(username=username, password_hash=hash_password(password), role=role)
    session.add(account)
    session.flush()
    return account


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The app with one account and API token per role."""
    app = create_app(settings)
    tokens: dict[Role, str] = {}
    with app.state.session_factory() as s:
        for role in Role:
            account = add_account(s, f"test-{role.value}", role, "Str0ng!Passw0rd")
            tokens[role], _ = create_api_token(session=s, account=account, name="tests")
        s.commit()
    with TestClient(app) as client:
        yield Api(client, tokens)
