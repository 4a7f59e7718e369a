"""The intercom management page's record list at scale: p50/p95 of its two reads.

Seeds the call, access and alarm tables as `benchmarks/records.py` does (`--rows` rows each
from 100 devices, one year), makes `--stations` of those devices door stations (kind "vto") and
adds one without records (`--stations 0`: only that one, where a filter on the time index alone
would read every row), then times what each console's poll runs: `records_marker` (every
poll) and `latest_records` (when a record was added: the latest 100 call records and access
and alarm records of the door stations). Seeding is not timed.

    python benchmarks/intercom_live.py --quick                 # 100,000 rows per table
    python benchmarks/intercom_live.py --rows 1000000 --stations 2 --backend sqlite
"""

from __future__ import annotations

import argparse
import runpy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support (PostgreSQL)

REPEATS = 30


def _time(factory: Any, read: Callable[..., Any]) -> list[float]:
    timings = []
    for _ in range(REPEATS):
        with factory() as session:
            started = time.perf_counter()
            read(session=session)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def run(backend: str, rows: int, stations: int) -> None:
    """Migrate, seed, mark the door stations, time the two reads."""
    from sqlalchemy import update

    from openpss.platform.db import make_engine, make_session_factory, migrate
    from openpss.platform.devices.models import Device
    from openpss.platform.intercom import management

    # the seeding and the stores of the record search benchmark (a script, not a package)
    records = runpy.run_path(str(Path(__file__).with_name("records.py")))
    seed, database = records["seed"], records["_database"]
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
        migrate(url)
        engine = make_engine(url)
        try:
            seed(engine, rows)
            factory = make_session_factory(engine)
            with factory() as session:
                session.execute(update(Device).where(Device.id <= stations).values(kind="vto"))
                quiet = Device(id=10_000, name="quiet VTO", host="10.9.9.9", username="admin",
                               password_encrypted="", kind="vto")  # fmt: skip
                session.add(quiet)  # a door station without records: its branch reads nothing
                session.commit()
            for name, read in (
                ("records_marker", management.records_marker),
                ("latest_records", management.latest_records),
            ):
                timings = sorted(_time(factory, read))
                p95 = timings[int(len(timings) * 0.95) - 1]
                print(
                    f"{backend:8} {name:15} {rows:>11,} rows/table, {stations} VTO(s): "
                    f"p50 {statistics.median(timings):7.2f} ms  p95 {p95:7.2f} ms",
                    flush=True,
                )
        finally:
            engine.dispose()


def main() -> None:
    """Parse arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per record table")
    parser.add_argument("--quick", action="store_true", help="100,000 rows per table")
    parser.add_argument("--stations", type=int, default=2, help="seeded devices made VTOs")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    rows = 100_000 if args.quick else args.rows
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run(backend, rows, args.stations)


if __name__ == "__main__":
    main()
