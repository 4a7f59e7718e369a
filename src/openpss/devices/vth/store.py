"""The indoor monitor's flash: a SQLite file under --data-dir holding settings and records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpss.devices.common.store import RecordStore
from openpss.devices.vth.entities import Record
from openpss.devices.vth.model import IndoorMonitor

SqliteStore = RecordStore[Record]


def open_monitor(data_dir: Path, **kwargs: Any) -> tuple[IndoorMonitor, SqliteStore]:
    """The VTH kept in ``data_dir`` (created on first start with a new serial)."""
    store = SqliteStore(data_dir / "vth.sqlite3", Record)
    monitor = IndoorMonitor(serial=store.serial("VTH", 5), store=store, **kwargs)
    store.load_into(monitor)
    return monitor, store
