"""Platform device sync throughput against a virtual attendance terminal process.

Prints the time for the platform to push N persons with one card each from its authorization
queue to a terminal (read tasks and credentials from the database, AccessUser insertMulti +
AccessCard updateMulti in batches of 100, mark the tasks), and to pull M punch records
incrementally by record number into the platform database (pages of 1024, deduplicated), plus
the attendance-result update that follows the pull (off the pull's path).
Default: 10,000 persons and 100,000 records (target: each under 10 s); ``--quick`` uses 1,000
and 10,000. SQLite in a temporary directory, terminal on 127.0.0.1; stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance.store import open_terminal
from openpss.platform.db import make_engine, make_session_factory, migrate
from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.devices.sync import DeviceSync, SyncService
from openpss.platform.people.models import Card, Department, Person
from openpss.platform.permissions import service as permissions
from openpss.platform.permissions.models import AuthorizationTask, TaskStatus
from openpss.platform.permissions.schemas import DoorRef, PermissionGroupCreate
from openpss.platform.records.models import AccessRecord
from openpss.platform.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.ports
from tests.support.ports import free_port

PASSWORD = "Bench!pass2024"


def prepare_terminal(data_dir: Path, records: int) -> None:
    """Give the terminal's flash `records` historical punches before it starts."""
    terminal, store = open_terminal(data_dir)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    punches = (
        (start + dt.timedelta(seconds=30 * i), 1 + i % 1000, "card", AttendanceState.check_in)
        for i in range(records)
    )
    terminal.add_punches(punches)
    store.close()


def start_terminal(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """Run `openpss device attendance` and wait until it listens."""
    openpss = str(Path(sys.executable).with_name("openpss"))
    process = subprocess.Popen(
        [openpss, "device", "attendance", "--listen", f"127.0.0.1:{port}",
         "--data-dir", str(data_dir), "--admin-password", PASSWORD],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the terminal did not start")


def seed_platform(factory: object, settings: Settings, persons: int, port: int) -> int:
    """A department of `persons` persons with one card each and a group on the terminal."""
    with factory() as s:  # type: ignore[operator]
        dep = Department(name="Bench")
        s.add(dep)
        s.flush()
        valid_from = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        valid_to = dt.datetime(2036, 1, 1, tzinfo=dt.UTC)
        s.execute(
            insert(Person),
            [{"user_id": str(i), "name": f"Person {i}", "department_id": dep.id,
              "valid_from": valid_from, "valid_to": valid_to} for i in range(1, persons + 1)],
        )  # fmt: skip
        ids = dict(s.execute(select(Person.user_id, Person.id)).all())
        s.execute(
            insert(Card),
            [{"person_id": ids[str(i)], "number": f"{i:08X}", "number_dec": str(i)}
             for i in range(1, persons + 1)],
        )  # fmt: skip
        device = Device(name="Bench terminal", host="127.0.0.1", port=port, username="admin")
        device.password_encrypted = encrypt_secret(settings, PASSWORD)
        device.kind = "attendance"
        s.add(device)
        s.flush()
        permissions.create_group(
            session=s,
            data=PermissionGroupCreate(
                name="Bench", verification_methods=["card"],
                doors=[DoorRef(device_id=device.id)], department_ids=[dep.id],
            ),
        )  # fmt: skip
        s.commit()
        return device.id


async def measure(
    factory: object, settings: Settings, device_id: int
) -> tuple[float, float, float]:
    """(push, pull, attendance update) seconds through the platform's DeviceSync."""
    service = SyncService(factory, settings, timeout=60)
    sync = DeviceSync(service, device_id)
    adapter = await sync._ensure_adapter()
    assert adapter is not None
    try:
        started = time.perf_counter()
        await sync.push_tasks(adapter)
        pushed = time.perf_counter() - started
        started = time.perf_counter()
        await sync.pull_records(adapter)
        pulled = time.perf_counter() - started
        started = time.perf_counter()
        await sync.drain()
        fed = time.perf_counter() - started
    finally:
        await sync.close()
    return pushed, pulled, fed


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 persons, 10,000 records")
    args = parser.parse_args()
    persons, records = (1_000, 10_000) if args.quick else (10_000, 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'platform.db'}"
        migrate(url)
        settings = Settings(
            environment="test",
            data_dir=root,
            database_url=url,
            secret_key="benchmark-secret-0123456789",
            background_services=False,
        )
        engine = make_engine(url)
        factory = make_session_factory(engine)
        prepare_terminal(root / "terminal", records)
        port = free_port()
        process = start_terminal(root / "terminal", port)
        try:
            device_id = seed_platform(factory, settings, persons, port)
            pushed, pulled, fed = asyncio.run(measure(factory, settings, device_id))
        finally:
            process.terminate()
            process.wait(timeout=30)
        with factory() as s:
            ok = s.scalar(
                select(func.count()).where(AuthorizationTask.status == TaskStatus.success)
            )
            stored = s.scalar(select(func.count()).select_from(AccessRecord))
        engine.dispose()
    print(f"push {persons} persons with cards: {pushed:.2f} s ({ok} tasks succeeded)")
    print(f"pull {records} punch records:      {pulled:.2f} s ({stored} records stored)")
    print(f"then attendance update for them:   {fed:.2f} s (persons without shifts)")


if __name__ == "__main__":
    main()
