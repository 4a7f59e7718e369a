"""The indoor monitor's flash: a SQLite file under --data-dir holding settings and records."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from openpss.devices.vth.entities import Record
from openpss.devices.vth.model import IndoorMonitor

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, rec_no INTEGER NOT NULL, at TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (kind, rec_no));
"""


class SqliteStore:
    """Implements the model's Persistence protocol on one SQLite file (autocommit, WAL)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def get_setting(self, key: str) -> Any:
        """A stored block, or None."""
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def save_settings(self, key: str, value: Any) -> None:
        """Store a block."""
        self.db.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    def append_record(self, record: Record) -> None:
        """Append one record."""
        self.db.execute(
            "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)",
            (record.kind, record.rec_no, record.at.isoformat(), json.dumps(record.data)),
        )

    def drop_records_before(self, kind: str, rec_no: int) -> None:
        """Forget the oldest records of one kind."""
        self.db.execute("DELETE FROM records WHERE kind = ? AND rec_no < ?", (kind, rec_no))

    def load_into(self, monitor: IndoorMonitor) -> None:
        """Fill a fresh IndoorMonitor with what this file holds."""
        blocks = {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM settings")}
        records = [
            Record(kind, rec_no, dt.datetime.fromisoformat(at), json.loads(data))
            for kind, rec_no, at, data in self.db.execute(
                "SELECT kind, rec_no, at, data FROM records ORDER BY kind, rec_no"
            )
        ]
        monitor.load(blocks, records)


def open_monitor(data_dir: Path, **kwargs: Any) -> tuple[IndoorMonitor, SqliteStore]:
    """The VTH kept in ``data_dir`` (created on first start with a new serial)."""
    store = SqliteStore(data_dir / "vth.sqlite3")
    serial = store.get_setting("serial")
    if serial is None:
        serial = "VTH" + secrets.token_hex(5).upper()
        store.save_settings("serial", serial)
    monitor = IndoorMonitor(serial=serial, store=store, **kwargs)
    store.load_into(monitor)
    return monitor, store
