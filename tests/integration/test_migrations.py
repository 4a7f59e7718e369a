"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from openpss.platform.db import make_engine
from openpss.platform.models import Base


def test_models_have_migrations(db_url: str) -> None:
    """A model change without a migration fails here (see `alembic revision --autogenerate`)."""
    engine = make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations: {diff}"
