"""`openpss serve` with OPENPSS_MQTT_URL: the Integrations page and API, the dashboard's MQTT
state while the broker is up and down, and /metrics (parsed with prometheus_client.parser)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from openpss.platform.app import create_app
from openpss.platform.security.models import AuditEntry, Role
from openpss.platform.security.tokens import create_api_token, open_login_session
from openpss.platform.settings import Settings
from tests.conftest import add_account
from tests.support.mosquitto import Broker, running_broker
from tests.support.polling import eventually

pytestmark = pytest.mark.peers
DEADLINE = 30.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with running_broker(tmp_path / "mosquitto") as running:
        yield running


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path, broker: Broker) -> Iterator[tuple[TestClient, str]]:
    """The app with its background services (SIP off) and an operator's API token."""
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        secret_key="test-secret-key-0123456789",
        sip_enabled=False,
        mqtt_url=f"mqtt://someone:s3cret@127.0.0.1:{broker.port}",
        mqtt_client_id=f"openpss-console-{broker.port}",
    )
    app = create_app(settings)
    with app.state.session_factory() as s:
        account = add_account(s, "operator", Role.operator, "Str0ng!Passw0rd")
        token, _ = create_api_token(session=s, account=account, name="tests")
        cookie, row = open_login_session(session=s, account=account, lifetime=dt.timedelta(hours=1))
        s.commit()
        csrf = row.csrf_token
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        client.cookies.set("openpss_session", cookie)
        client.headers["X-CSRF-Token"] = csrf
        yield client, token


def _state(client: TestClient) -> str:
    return str(client.get("/api/v1/integrations/mqtt").json()["state"])


def test_integrations_page_test_button_and_dashboard(
    served: tuple[TestClient, str], broker: Broker
) -> None:
    client, _ = served
    eventually(
        lambda: _state(client) == "connected", what="the bridge to connect", timeout=DEADLINE
    )
    status = client.get("/api/v1/integrations/mqtt").json()
    assert status["url"] == f"mqtt://someone@127.0.0.1:{broker.port}"  # no password shown
    assert status["commands"] == ["door_mode", "hangup"]  # unlock is off by default
    assert client.post("/api/v1/integrations/mqtt/test").json() == {"topic": "openpss/test"}
    page = client.get("/integrations")
    assert 'data-state="connected"' in page.text and "openpss/test" in page.text
    sent = client.post("/integrations/mqtt/test", follow_redirects=False)
    assert sent.status_code == 303
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "operator"))
        assert list(actions) == ["integrations.mqtt_test"] * 2
    assert 'id="dashboard-mqtt">connected' in client.get("/").text

    broker.stop()  # the platform keeps working and says the broker is down
    eventually(
        lambda: _state(client) in ("down", "connecting"),
        what="the bridge to see the outage",
        timeout=DEADLINE,
    )
    assert 'id="dashboard-mqtt">' in client.get("/").text
    refused = client.post("/api/v1/integrations/mqtt/test")
    assert refused.status_code == 409 and "not sent" in refused.json()["detail"]
    assert client.get("/api/v1/devices").status_code == 200
    broker.start()
    eventually(lambda: _state(client) == "connected", what="the reconnect", timeout=DEADLINE)


def test_metrics_need_a_token_and_parse(served: tuple[TestClient, str]) -> None:
    client, _ = served
    eventually(
        lambda: _state(client) == "connected", what="the bridge to connect", timeout=DEADLINE
    )
    anonymous = TestClient(client.app)
    assert anonymous.get("/metrics").status_code == 401
    with_cookie_only = client.get("/metrics", headers={"Authorization": ""})
    assert with_cookie_only.status_code == 401  # the console session is not enough
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    for name in (
        "openpss_http_requests",
        "openpss_devices_online",
        "openpss_sync_queue_depth",
        "openpss_sync_failures",
        "openpss_records_ingested",
        "openpss_sip_registrations",
        "openpss_sip_active_calls",
        "openpss_mqtt_messages_sent",
        "openpss_mqtt_reconnects",
    ):
        assert name in families, name
    requests = {
        (s.labels["route"], s.labels["status"]): s.value
        for s in families["openpss_http_requests"].samples
        if s.name.endswith("_total")
    }
    assert requests[("/api/v1/integrations/mqtt", "200")] >= 1
    assert requests[("/metrics", "401")] >= 1
    [connected] = families["openpss_mqtt_connected"].samples
    assert connected.value == 1
    [sent] = families["openpss_mqtt_messages_sent"].samples
    assert sent.value >= 1  # the availability topic at least
