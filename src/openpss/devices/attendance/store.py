"""The terminal's flash: a SQLite file under --data-dir holding users, settings, punches, log."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance.model import AdminLogEntry, Punch, Terminal, User
from openpss.devices.common.store import SETTINGS_SCHEMA, FlashStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (user_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS punches (
    rec_no INTEGER PRIMARY KEY, at TEXT NOT NULL, local TEXT NOT NULL, user_id INTEGER NOT NULL,
    method TEXT NOT NULL, card_no TEXT NOT NULL, state TEXT NOT NULL,
    success INTEGER NOT NULL DEFAULT 1, error_code INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '', card_type INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS admin_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, admin_id INTEGER NOT NULL,
    operation TEXT NOT NULL);
"""
# Columns added to `punches` after the first release (refused attempts, duress cards): a file
# written by an older terminal gets them on open.
PUNCH_COLUMNS_ADDED = {
    "success": "INTEGER NOT NULL DEFAULT 1",
    "error_code": "INTEGER NOT NULL DEFAULT 0",
    "reason": "TEXT NOT NULL DEFAULT ''",
    "card_type": "INTEGER NOT NULL DEFAULT 0",
}
PUNCH_COLUMNS = "rec_no, at, local, user_id, method, card_no, state, success, error_code, reason"
PUNCH_COLUMNS += ", card_type"
WALL_TIME = "%Y-%m-%d %H:%M:%S"


def user_to_json(user: User) -> str:
    """A user as JSON (templates base64)."""
    return json.dumps(
        {
            "name": user.name,
            "department": user.department,
            "schedule_mode": user.schedule_mode,
            "level": user.level,
            "password": user.password,
            "cards": user.cards,
            "fingerprints": [base64.b64encode(fp).decode() for fp in user.fingerprints],
            "duress_cards": user.duress_cards,
            "valid_from": user.valid_from.strftime(WALL_TIME) if user.valid_from else None,
            "valid_to": user.valid_to.strftime(WALL_TIME) if user.valid_to else None,
        }
    )


def user_from_json(user_id: int, text: str) -> User:
    """Inverse of `user_to_json`."""
    data = json.loads(text)
    data["fingerprints"] = [base64.b64decode(fp) for fp in data["fingerprints"]]
    for key in ("valid_from", "valid_to"):
        if data.get(key):
            data[key] = dt.datetime.strptime(data[key], WALL_TIME)
    return User(user_id=user_id, **data)


def punch_from_row(row: tuple[Any, ...]) -> Punch:
    """A punch from a `PUNCH_COLUMNS` row."""
    rec, at, local, uid, method, card, state, success, error_code, reason, card_type = row
    return Punch(
        rec,
        dt.datetime.fromisoformat(at),
        dt.datetime.fromisoformat(local),
        uid,
        method,
        card,
        AttendanceState(state) if state else None,
        bool(success),
        error_code,
        reason,
        card_type,
    )


class SqliteStore(FlashStore):
    """Implements the model's Persistence protocol on one SQLite file (autocommit, WAL)."""

    schema = SETTINGS_SCHEMA + SCHEMA

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        have = {row[1] for row in self.db.execute("PRAGMA table_info(punches)")}
        for column, declaration in PUNCH_COLUMNS_ADDED.items():
            if column not in have:
                self.db.execute(f"ALTER TABLE punches ADD COLUMN {column} {declaration}")

    def save_users(self, users: Iterable[User]) -> None:
        """Insert or replace users in one transaction."""
        rows = [(u.user_id, user_to_json(u)) for u in users]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO users (user_id, data) VALUES (?, ?)", rows)

    def delete_users(self, user_ids: Iterable[int]) -> None:
        """Delete users."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("DELETE FROM users WHERE user_id = ?", [(u,) for u in user_ids])

    def append_punches(self, punches: Iterable[Punch]) -> None:
        """Append punches."""
        rows = [
            (
                p.rec_no,
                p.at.isoformat(),
                p.local.isoformat(),
                p.user_id,
                p.method,
                p.card_no,
                p.state.value if p.state is not None else "",
                int(p.success),
                p.error_code,
                p.reason,
                p.card_type,
            )
            for p in punches
        ]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                f"INSERT INTO punches ({PUNCH_COLUMNS}) VALUES ({', '.join('?' * 11)})", rows
            )

    def drop_punches_before(self, rec_no: int) -> None:
        """Forget the oldest punches (the record store is full)."""
        self.db.execute("DELETE FROM punches WHERE rec_no < ?", (rec_no,))

    def append_admin_log(self, entry: AdminLogEntry) -> None:
        """Append one administrator operation."""
        self.db.execute(
            "INSERT INTO admin_log (at, admin_id, operation) VALUES (?, ?, ?)",
            (entry.at.isoformat(), entry.admin_id, entry.operation),
        )

    def load_into(self, terminal: Terminal) -> None:
        """Fill a fresh Terminal with what this file holds."""
        users = [user_from_json(uid, data) for uid, data in self.db.execute("SELECT * FROM users")]
        settings = self.settings()
        rows = self.db.execute(f"SELECT {PUNCH_COLUMNS} FROM punches ORDER BY rec_no")
        punches = [punch_from_row(row) for row in rows]
        log = [
            AdminLogEntry(dt.datetime.fromisoformat(at), admin_id, op)
            for _, at, admin_id, op in self.db.execute("SELECT * FROM admin_log ORDER BY id")
        ]
        terminal.load(users=users, settings=settings, punches=punches, admin_log=log)


def open_terminal(data_dir: Path, **kwargs: Any) -> tuple[Terminal, SqliteStore]:
    """The terminal kept in `data_dir` (created on first start with a new serial number)."""
    store = SqliteStore(data_dir / "terminal.sqlite3")
    terminal = Terminal(serial=store.serial("AT", 6), store=store, **kwargs)
    store.load_into(terminal)
    return terminal, store
