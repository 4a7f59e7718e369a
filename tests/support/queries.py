"""One SQL statement counter for the N+1 checks (NetBox's recorded query counts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event


def _bookkeeping(statement: str) -> bool:
    """A token's last-use write: made at most once a minute, so not the view's (tokens.py)."""
    return statement.lstrip().upper().startswith("UPDATE API_TOKEN")


@contextmanager
def count_queries(engine: Engine, *, all_statements: bool = False) -> Iterator[list[str]]:
    """Collect the SQL statements run on `engine` in the block (less a token's last-use write)."""
    statements: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if all_statements or not _bookkeeping(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def queries_for_get(
    client: TestClient, path: str, headers: dict[str, str] | None = None
) -> list[str]:
    """The SQL statements one successful GET of `path` runs."""
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with count_queries(engine) as statements:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return statements
