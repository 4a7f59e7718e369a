"""The door station's flash: a SQLite file under --data-dir holding settings and records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpss.devices.common.store import RecordStore
from openpss.devices.vto.entities import Record
from openpss.devices.vto.model import DoorStation

SqliteStore = RecordStore[Record]


def open_station(data_dir: Path, **kwargs: Any) -> tuple[DoorStation, SqliteStore]:
    """The door station kept in ``data_dir`` (created on first start with a new serial)."""
    store = SqliteStore(data_dir / "vto.sqlite3", Record)
    station = DoorStation(serial=store.serial("VTO", 5), store=store, **kwargs)
    store.load_into(station)
    return station, store
