"""Settings refuse the built-in secret outside development and unknown keys."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from openpss.platform.settings import DEVELOPMENT_SECRET, Settings


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ValidationError, match="built-in development secret"):
        Settings(environment="production", secret_key=DEVELOPMENT_SECRET)


def test_development_accepts_default_secret() -> None:
    assert Settings(environment="development").secret_key == DEVELOPMENT_SECRET


def test_unknown_key_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(environment="development", colour="blue")  # type: ignore[call-arg]


def test_sqlite_default_under_data_dir(tmp_path) -> None:
    s = Settings(environment="development", data_dir=tmp_path)
    assert s.resolved_database_url == f"sqlite:///{tmp_path / 'openpss.db'}"
