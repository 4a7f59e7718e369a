"""RULES.json / PUNCHES.csv parsing, the evaluate command and its output formats."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from openpss.attendance.files import InputError, parse_punches, parse_rules
from openpss.commands.attendance import app

RULES = {
    "late_allowance_minutes": 5,
    "early_allowance_minutes": 5,
    "shifts": {
        "1": {"duty": [["09:00", "12:00"], ["14:00", "17:30"]], "overtime": ["18:45", "20:00"]}
    },
    "schedules": {"1001": {"2026-11-02": 1, "2026-11-03": 26}},
}
PUNCHES = (
    "user_id,time\n1001,2026-11-02 09:05:00\n1001,2026-11-02 11:54:00\n1001,2026-11-02 17:00\n"
)


def test_issue_rules_example_parses() -> None:
    rules = parse_rules(json.dumps(RULES))
    assert rules.late_allowance_minutes == 5
    assert str(rules.shifts[1].overtime) == "18:45-20:00"
    assert rules.schedules["1001"][dt.date(2026, 11, 3)] == 26


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r["shifts"]["1"].update(duty=[["14:00", "12:00"]]), ":6: shifts.1.duty:"),
        (lambda r: r["schedules"]["1001"].update({"2026-11-04": 7}), "shift 7, which is not"),
        (lambda r: r["schedules"]["1001"].update({"2026-13-01": 1}), "not a date YYYY-MM-DD"),
        (lambda r: r.update(late_allowance_minutes="5"), "must be a whole number"),
        (lambda r: r.update(recheck_interval_minutes=12), "0-9 minutes"),
        (lambda r: r.update(colour="blue"), "unknown key 'colour'"),
        (lambda r: r["shifts"].update({"30": {"duty": [["01:00", "02:00"]]}}), "outside 1-24"),
    ],
)
def test_bad_rules_name_line_and_reason(change: object, expected: str) -> None:
    data = json.loads(json.dumps(RULES))
    change(data)  # type: ignore[operator]
    with pytest.raises(InputError, match=expected) as info:
        parse_rules(json.dumps(data, indent=2), "r.json")
    assert info.value.problems[0].startswith("r.json:")


def test_rules_syntax_error_has_the_line() -> None:
    with pytest.raises(InputError, match=r"^r.json:3: not valid JSON"):
        parse_rules('{\n"shifts": {},\n,}', "r.json")


def test_punches_every_bad_line_is_reported() -> None:
    text = "user_id,time\n1001,2026-11-02 09:00:00\n1001,yesterday\n,2026-11-02 10:00\n1001\n"
    with pytest.raises(InputError) as info:
        parse_punches(text, "p.csv")
    assert info.value.problems == [
        "p.csv:3: time 'yesterday' is not 'YYYY-MM-DD HH:MM:SS'",
        "p.csv:4: user_id must be 1-32 characters, not ''",
        "p.csv:5: a row needs user_id and time",
    ]


def test_punches_header_is_required() -> None:
    with pytest.raises(InputError, match=r"p.csv:1: the header must be 'user_id,time'"):
        parse_punches("id,when\n1,2\n", "p.csv")


def write_inputs(tmp_path: Path) -> tuple[str, str]:
    rules, punches = tmp_path / "rules.json", tmp_path / "punches.csv"
    rules.write_text(json.dumps(RULES))
    punches.write_text(PUNCHES)
    return str(rules), str(punches)


def test_evaluate_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", *write_inputs(tmp_path)])
    assert result.exit_code == 0, result.output
    days = json.loads(result.stdout)
    assert [(d["date"], d["status"]) for d in days] == [
        ("2026-11-02", "abnormal"),
        ("2026-11-03", "leave"),
    ]
    first = days[0]
    assert (first["early_minutes"], first["absence_days"], first["work_hours"]) == (1, 0.5, 2.8)
    assert first["periods"][0] == {
        "kind": "duty",
        "start": "09:00",
        "end": "12:00",
        "check_in": "09:05:00",
        "check_out": "11:54:00",
        "status": "early",
        "late_minutes": 0,
        "early_minutes": 1,
    }


def test_evaluate_csv_and_xlsx(tmp_path: Path) -> None:
    rules, punches = write_inputs(tmp_path)
    out = tmp_path / "out.csv"
    runner = CliRunner()
    result = runner.invoke(
        app, ["evaluate", rules, punches, "--format", "csv", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows[0]["period2_status"] == "missing" and rows[0]["absence_days"] == "0.5"
    xlsx = tmp_path / "out.xlsx"
    result = runner.invoke(
        app, ["evaluate", rules, punches, "--format", "xlsx", "--output", str(xlsx)]
    )
    assert result.exit_code == 0, result.output
    sheet = load_workbook(xlsx).active
    values = list(sheet.values)
    assert values[0][:3] == ("user_id", "date", "schedule")
    assert values[1][:5] == ("1001", "2026-11-02", 1, "abnormal", 2.8)


def test_evaluate_reports_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    rules, punches = write_inputs(tmp_path)
    Path(punches).write_text("user_id,time\n1001,2026-11-02 24:00:00\n")
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["evaluate", rules, punches, "--output", str(out)])
    assert result.exit_code == 2
    assert f"{punches}:2: time '2026-11-02 24:00:00'" in result.stderr
    assert not out.exists()
    missing = CliRunner().invoke(app, ["evaluate", rules, str(tmp_path / "no.csv")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
