"""`openpss attendance report`: compute a month and export it from the configured database."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from openpss.commands.attendance import app
from openpss.platform.attendance import shifts
from openpss.platform.attendance.models import ShiftAssignment
from openpss.platform.attendance.schemas import PeriodCreate, ShiftCreate
from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.security.audit import SYSTEM
from openpss.platform.settings import get_settings
from tests.integration.attendance_support import department, person, punch


def test_report_command_computes_and_exports(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        dept = department(session, "Ops")
        person(session, "u7", dept)
        period = shifts.create_period(
            session=session,
            actor=SYSTEM,
            data=PeriodCreate(
                name="Day",
                work_start="09:00",
                work_end="17:00",
                checkin_start="08:00",
                checkout_end="18:00",
            ),
        )
        shift = shifts.create_shift(
            session=session,
            actor=SYSTEM,
            data=ShiftCreate(
                name="Daily",
                start_date=dt.date(2024, 2, 1),
                cycle_mode="day",
                cycles=1,
                arrangement={0: [period.id]},
            ),
        )
        punch(session, "u7", "2024-02-05 08:59")
        punch(session, "u7", "2024-02-05 17:01")
        session.commit()
        # Assign after the punches exist, without the automatic computation of the service.
        session.add(
            ShiftAssignment(
                shift_id=shift.id,
                department_id=dept.id,
                start_date=dt.date(2024, 2, 1),
                end_date=dt.date(2024, 2, 29),
            )
        )
        session.commit()
    engine.dispose()
    monkeypatch.setenv("OPENPSS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OPENPSS_ENVIRONMENT", "test")
    get_settings.cache_clear()
    out = tmp_path / "feb.csv"
    try:
        result = CliRunner().invoke(
            app,
            ["report", "--year", "2024", "--month", "2", "--format", "csv", "--output", str(out)],
        )
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(out.open()))
        assert (rows[0]["user_id"], rows[0]["days_due"], rows[0]["days_attended"]) == (
            "u7",
            "29",
            "1",
        )
        assert rows[0]["absence_days"] == "28.0"
        xlsx = tmp_path / "feb.xlsx"
        result = CliRunner().invoke(
            app,
            [
                "report",
                "--year",
                "2024",
                "--month",
                "2",
                "--kind",
                "record",
                "--no-compute",
                "--output",
                str(xlsx),
            ],
        )
        assert result.exit_code == 0, result.output
        values = list(load_workbook(xlsx).active.values)
        assert values[1][2 + 4] == "08:59:00 17:01:00"
    finally:
        get_settings.cache_clear()
