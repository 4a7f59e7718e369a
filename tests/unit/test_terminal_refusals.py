"""Refused attempts are records; validity periods and duress cards (issue 8 item 4).

Before the fix a refused punch (unknown card, expired validity, wrong method) left no record,
the terminal ignored ValidFrom / ValidTo, and a duress card raised no alarm.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

from openpss.devices.attendance.entities import record_fields
from openpss.devices.attendance.model import Terminal, User
from openpss.devices.attendance.store import open_terminal
from openpss.protocols.dahua_http.records import error_reason

T0 = dt.datetime(2026, 3, 2, 8, 55, tzinfo=dt.UTC)


def _terminal(path: Path | None = None) -> tuple[Terminal, list[tuple[str, dict[str, Any]]]]:
    events: list[tuple[str, dict[str, Any]]] = []

    def on_event(code: str, data: dict[str, Any]) -> None:
        events.append((code, data))

    if path is None:
        return Terminal(serial="T1", clock=lambda: T0, on_event=on_event), events
    terminal, _ = open_terminal(path, clock=lambda: T0, on_event=on_event)
    return terminal, events


def test_unknown_card_is_stored_as_a_refused_record() -> None:
    terminal, events = _terminal()
    result = terminal.present(card="dead01")
    assert not result.accepted and result.message == "card not registered"
    total, punches = terminal.find_punches()
    assert total == 1
    fields = record_fields(punches[0], None)
    assert (fields["RecNo"], fields["Status"], fields["ErrorCode"]) == ("1", "0", "16")
    assert (fields["CardNo"], fields["UserID"], fields["Reason"]) == (
        "DEAD01",
        "",
        "card not registered",
    )
    code, data = events[-1]
    assert code == "AccessControl" and data["RecNo"] == 1 and data["Status"] == 0


def test_validity_period_is_enforced_in_device_wall_time() -> None:
    terminal, _ = _terminal()
    local_now = terminal.local_now()
    terminal.put_users(
        [
            User(user_id=1, cards=["A1"], valid_to=local_now - dt.timedelta(seconds=1)),
            User(user_id=2, cards=["A2"], valid_from=local_now + dt.timedelta(days=1)),
            User(user_id=3, cards=["A3"], valid_from=local_now, valid_to=local_now),
        ]
    )
    expired, early, valid = (terminal.present(card=c) for c in ("A1", "A2", "A3"))
    assert (expired.accepted, early.accepted, valid.accepted) == (False, False, True)
    assert expired.message == "outside the user's validity period"
    refused = [p for p in terminal.punches if not p.success]
    assert [(p.user_id, p.error_code) for p in refused] == [(1, 0x14), (2, 0x14)]
    assert error_reason(0x14) == "outside validity period"


def test_duress_card_opens_and_raises_the_duress_event() -> None:
    terminal, events = _terminal()
    terminal.put_users([User(user_id=7, name="Ann", cards=["B1", "B2"], duress_cards=["b2"])])
    assert terminal.users[7].duress_cards == ["B2"]
    assert terminal.present(card="B2").accepted
    punch = terminal.punches[-1]
    assert punch.success and punch.card_type == 5
    assert record_fields(punch, terminal.users[7])["CardType"] == "5"
    assert [code for code, _ in events[-2:]] == ["AccessControl", "Duress"]
    assert events[-1][1]["RecNo"] == punch.rec_no and events[-1][1]["UserID"] == "7"
    # The main card is an ordinary punch.
    terminal.update_settings(lambda s: setattr(s, "recheck_interval_min", 0))
    assert terminal.present(card="B1").accepted
    assert events[-1][0] == "AccessControl" and events[-1][1]["CardType"] == 0


def test_refused_records_validity_and_duress_survive_a_restart(tmp_path: Path) -> None:
    terminal, _ = _terminal(tmp_path)
    valid_to = dt.datetime(2036, 1, 1)
    terminal.put_users([User(user_id=7, cards=["B2"], duress_cards=["B2"], valid_to=valid_to)])
    terminal.present(card="FFFF")
    terminal.present(card="B2")
    again, _ = _terminal(tmp_path)
    user = again.users[7]
    assert (user.duress_cards, user.valid_to) == (["B2"], valid_to)
    assert [(p.success, p.reason, p.card_type) for p in again.punches] == [
        (False, "card not registered", 0),
        (True, "", 5),
    ]
    assert again.last_accepted == {7: T0}  # the refused attempt is no clock-in


def test_record_file_of_an_older_terminal_is_upgraded(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "terminal.sqlite3")
    db.execute(
        "CREATE TABLE punches (rec_no INTEGER PRIMARY KEY, at TEXT NOT NULL, local TEXT NOT NULL,"
        " user_id INTEGER NOT NULL, method TEXT NOT NULL, card_no TEXT NOT NULL,"
        " state TEXT NOT NULL)"
    )
    db.execute(
        "INSERT INTO punches VALUES (1, ?, ?, 5, 'card', 'A1', 'CheckIn')",
        (T0.isoformat(), T0.replace(tzinfo=None).isoformat()),
    )
    db.commit()
    db.close()
    terminal, _ = _terminal(tmp_path)
    assert [(p.rec_no, p.success, p.user_id) for p in terminal.punches] == [(1, True, 5)]
    terminal.present(card="NOPE")
    assert [p.rec_no for p in terminal.punches] == [1, 2]
