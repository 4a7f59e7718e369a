"""A virtual device's flash: one SQLite file under ``--data-dir`` (autocommit, WAL).

``FlashStore`` keeps the settings blocks (JSON by key) and the unit's serial number;
``RecordStore`` adds the numbered records of each kind (``kind, rec_no, at, data``) that the
door station and the indoor monitor keep. Both implement the models' ``Persistence``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

SETTINGS_SCHEMA = "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
RECORDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, rec_no INTEGER NOT NULL, at TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (kind, rec_no));
"""


class FlashStore:
    """Settings blocks on one SQLite file; subclasses add their tables to ``schema``."""

    schema = SETTINGS_SCHEMA

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(self.schema)

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def get_setting(self, key: str) -> Any:
        """A stored settings block, or None."""
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def save_settings(self, key: str, value: Any) -> None:
        """Store a settings block."""
        self.db.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    def settings(self) -> dict[str, Any]:
        """Every settings block by key."""
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM settings")}

    def serial(self, prefix: str, random_bytes: int) -> str:
        """The unit's serial number, made up (``prefix`` + hex) and kept on first start."""
        serial = self.get_setting("serial")
        if serial is None:
            serial = prefix + secrets.token_hex(random_bytes).upper()
            self.save_settings("serial", serial)
        return str(serial)


class Record(Protocol):
    """One numbered record of a kind (a call, an unlock, an alarm, a message)."""

    @property
    def kind(self) -> str: ...
    @property
    def rec_no(self) -> int: ...
    @property
    def at(self) -> dt.datetime: ...
    @property
    def data(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)
R_contra = TypeVar("R_contra", bound=Record, contravariant=True)


class RecordUnit(Protocol[R]):
    """A model that takes back its settings blocks and records."""

    def load(self, blocks: dict[str, Any], records: list[R]) -> None: ...


class RecordSink(Protocol[R_contra]):
    """Where a unit writes its records (``RecordStore``, or a test's stand-in)."""

    def append_record(self, record: R_contra) -> None: ...
    def drop_records_before(self, kind: str, rec_no: int) -> None: ...


def keep_record(kept: list[R], record: R, store: RecordSink[R] | None, limit: int) -> None:
    """Append ``record`` to its kind's list and the store; past ``limit`` the oldest go."""
    kept.append(record)
    if store is not None:
        store.append_record(record)
    if len(kept) > limit:
        del kept[: len(kept) - limit]
        if store is not None:
            store.drop_records_before(record.kind, kept[0].rec_no)


class RecordStore(FlashStore, Generic[R]):
    """Settings blocks and the records of each kind, built back as ``record_type``."""

    schema = SETTINGS_SCHEMA + RECORDS_SCHEMA

    def __init__(
        self, path: Path, record_type: Callable[[str, int, dt.datetime, dict[str, Any]], R]
    ) -> None:
        super().__init__(path)
        self.record_type = record_type

    def append_record(self, record: R) -> None:
        """Append one record."""
        self.db.execute(
            "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)",
            (record.kind, record.rec_no, record.at.isoformat(), json.dumps(record.data)),
        )

    def drop_records_before(self, kind: str, rec_no: int) -> None:
        """Forget the oldest records of one kind."""
        self.db.execute("DELETE FROM records WHERE kind = ? AND rec_no < ?", (kind, rec_no))

    def load_into(self, unit: RecordUnit[R]) -> None:
        """Fill a fresh unit with what this file holds."""
        records = [
            self.record_type(kind, rec_no, dt.datetime.fromisoformat(at), json.loads(data))
            for kind, rec_no, at, data in self.db.execute(
                "SELECT kind, rec_no, at, data FROM records ORDER BY kind, rec_no"
            )
        ]
        unit.load(self.settings(), records)
