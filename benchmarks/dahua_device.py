"""Dahua API throughput of the virtual attendance terminal, measured with our DahuaClient.

Prints the time to push N persons with one card each (insertMulti + AccessCard updateMulti in
batches of 100) and to pull M punch records incrementally by record number (pages of 1000).
Default: 10,000 persons and 100,000 records; ``--quick`` uses 1,000 and 10,000.
Everything runs on 127.0.0.1 in a temporary directory and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance.http import AttendanceHttp
from openpss.devices.attendance.store import open_terminal
from openpss.protocols.dahua_http.client import DahuaClient
from openpss.protocols.dahua_http.server import ServerThread

PASSWORD = "Bench1234"


async def push(url: str, persons: int) -> float:
    """Seconds to push `persons` users with one card each."""
    users = [{"UserID": str(i), "UserName": f"Person {i}", "Authority": 2}
             for i in range(1, persons + 1)]  # fmt: skip
    cards = [{"UserID": str(i), "CardNo": f"{i:08X}"} for i in range(1, persons + 1)]
    async with DahuaClient(url, "admin", PASSWORD, timeout=60) as client:
        start = time.perf_counter()
        await client.insert_users(users)
        await client.update_cards(cards)
        return time.perf_counter() - start


async def pull(url: str) -> tuple[int, float]:
    """(records, seconds) to pull every record after RecNo 0."""
    async with DahuaClient(url, "admin", PASSWORD, timeout=60) as client:
        start = time.perf_counter()
        count = 0
        async for _ in client.iter_records_after(0, page=1000):
            count += 1
        return count, time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 persons, 10,000 records")
    args = parser.parse_args()
    persons, records = (1_000, 10_000) if args.quick else (10_000, 100_000)
    with tempfile.TemporaryDirectory() as directory:
        terminal, store = open_terminal(Path(directory))
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        terminal.add_punches(
            (
                start + dt.timedelta(seconds=30 * i),
                1 + i % persons,
                "card",
                AttendanceState.check_in,
            )
            for i in range(records)
        )
        front = AttendanceHttp(terminal, store)
        front.set_admin_password(PASSWORD)
        with ServerThread(front.app()) as server:
            pushed = asyncio.run(push(server.url, persons))
            pulled, seconds = asyncio.run(pull(server.url))
        store.close()
    print(f"push {persons} persons with cards: {pushed:.2f} s ({persons / pushed:.0f} persons/s)")
    print(f"pull {pulled} punch records: {seconds:.2f} s ({pulled / seconds:.0f} records/s)")


if __name__ == "__main__":
    main()
