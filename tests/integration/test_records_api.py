"""Records over the REST API and the console page (both databases)."""

from __future__ import annotations

import datetime as dt

from openpss.platform.devices.models import Device
from openpss.platform.records.models import AlarmRecord, CallRecord
from openpss.platform.records.service import add_access_records
from openpss.platform.security.models import AuditEntry, Role
from tests.conftest import Api

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _seed(api: Api) -> None:
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        device = Device(name="Hall", host="127.0.0.1", username="admin", password_encrypted="")
        s.add(device)
        s.flush()
        punches = [
            {"record_no": i, "event_time": T0 + dt.timedelta(hours=i), "user_id": str(i),
             "card_no": f"{i:08X}", "method": "card", "success": i != 2}
            for i in range(1, 4)
        ]  # fmt: skip
        add_access_records(session=s, device_id=device.id, records=punches)
        s.add(CallRecord(device_id=device.id, start_time=T0, caller="VTO1", callee="9901"))
        s.add(AlarmRecord(device_id=device.id, event_time=T0, alarm_type="Tamper"))
        s.commit()


def test_search_export_and_page(api: Api) -> None:
    _seed(api)
    viewer = api.headers(Role.viewer)
    page = api.client.get("/api/v1/records/access?limit=2", headers=viewer).json()
    assert page["total"] == 3
    assert [r["record_no"] for r in page["items"]] == [3, 2]
    assert page["items"][0]["device_name"] == "Hall"
    failed = api.client.get("/api/v1/records/access?success=false", headers=viewer).json()
    assert [r["user_id"] for r in failed["items"]] == ["2"]
    window = api.client.get(
        "/api/v1/records/access",
        params={"start": "2026-03-02T09:30:00Z", "end": "2026-03-02T12:00:00Z"},
        headers=viewer,
    ).json()
    assert [r["record_no"] for r in window["items"]] == [3, 2]
    reversed_range = api.client.get(
        "/api/v1/records/access",
        params={"start": "2026-03-03T00:00:00Z", "end": "2026-03-02T00:00:00Z"},
        headers=viewer,
    )
    assert reversed_range.status_code == 422
    assert api.client.get("/api/v1/records/access/export", headers=viewer).status_code == 403
    csv_export = api.client.get(
        "/api/v1/records/access/export?format=csv&user_id=3", headers=api.headers(Role.operator)
    )
    assert csv_export.status_code == 200
    lines = csv_export.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2
    assert lines[1].split(",")[5] == "00000003"
    calls = api.client.get("/api/v1/records/calls", headers=viewer).json()
    assert calls["items"][0]["caller"] == "VTO1"
    alarms = api.client.get("/api/v1/records/alarms", headers=viewer).json()
    assert alarms["items"][0]["alarm_type"] == "Tamper"
    later = {"start": "2026-03-02T08:00:01Z"}  # one second after the call and the alarm
    for kind in ("calls", "alarms"):
        url = f"/api/v1/records/{kind}"
        assert api.client.get(url, params=later, headers=viewer).json()["total"] == 0
        other = api.client.get(url, params={"device_id": 999}, headers=viewer).json()
        assert other == {
            "total": 0,
            "total_exact": True,
            "items": [],
            "next_cursor": "",
            "prev_cursor": "",
        }
        assert api.client.get(url, params={"after": "x"}, headers=viewer).status_code == 422
    console = api.client.get("/records?user_id=1", headers=viewer)
    assert console.status_code == 200
    assert "1 record(s)" in console.text
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert s.query(AuditEntry).filter(AuditEntry.action == "records.export").count() == 1
