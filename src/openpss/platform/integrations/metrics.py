"""Prometheus metrics: ``GET /metrics`` in the text exposition format, bearer token only.

Each app has its own registry (several apps live in one test process). HTTP requests are counted
by route template (not the raw path: bounded label values) and status; the rest is read when
Prometheus scrapes: devices online, authorization tasks waiting and failed, device sync cycle
failures, records ingested and events published (event bus), SIP registrations and active calls
(when the SIP server runs), MQTT messages and reconnects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from openpss.platform.db import session_scope
from openpss.platform.deps import Viewer
from openpss.platform.devices.models import Device
from openpss.platform.permissions.models import AuthorizationTask, TaskStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus text format 0.0.4
router = APIRouter()


class PlatformCollector(Collector):
    """Reads the platform's state at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """Every platform metric."""
        yield from self._database()
        state = self.app.state
        sync = getattr(state, "device_sync", None)
        yield _counter("openpss_sync_failures", "device sync cycles that failed", sync, "failures")
        bus = getattr(state, "event_bus", None)
        published = CounterMetricFamily(
            "openpss_events_published", "platform events published", labels=["kind"]
        )
        for kind, count in sorted((bus.published if bus else {}).items()):
            published.add_metric([kind], count)
        yield published
        ingested = bus.published.get("access", 0) if bus else 0
        yield CounterMetricFamily(
            "openpss_records_ingested", "access records stored from devices", value=ingested
        )
        yield from self._sip()
        yield from self._mqtt()

    def _database(self) -> Iterator[Metric]:
        with session_scope(self.app.state.session_factory) as session:
            online = session.scalar(select(func.count()).where(Device.online.is_(True))) or 0
            counted = select(AuthorizationTask.status, func.count())
            by_status: dict[TaskStatus, int] = {
                status: number
                for status, number in session.execute(
                    counted.group_by(AuthorizationTask.status)
                ).all()
            }
        yield GaugeMetricFamily("openpss_devices_online", "devices online", value=online)
        depth = by_status.get(TaskStatus.pending, 0)
        yield GaugeMetricFamily(
            "openpss_sync_queue_depth", "authorization tasks waiting to be sent", value=depth
        )
        failed = by_status.get(TaskStatus.failed, 0)
        yield GaugeMetricFamily(
            "openpss_sync_tasks_failed", "authorization tasks that failed", value=failed
        )

    def _sip(self) -> Iterator[Metric]:
        events = getattr(self.app.state, "sip_events", None)
        server = getattr(self.app.state, "sip_server", None)
        registered = len(events.online) if events is not None else 0
        calls = len(server.calls) if server is not None else 0
        yield GaugeMetricFamily("openpss_sip_registrations", "SIP accounts registered", registered)
        yield GaugeMetricFamily("openpss_sip_active_calls", "SIP calls in progress", value=calls)

    def _mqtt(self) -> Iterator[Metric]:
        bridge = getattr(self.app.state, "mqtt_bridge", None)
        connected = 1 if bridge is not None and bridge.state.value == "connected" else 0
        yield GaugeMetricFamily("openpss_mqtt_connected", "1 while connected", value=connected)
        yield _counter(
            "openpss_mqtt_messages_sent", "MQTT messages published", bridge, "messages_sent"
        )
        yield _counter(
            "openpss_mqtt_messages_received", "MQTT messages received", bridge, "messages_received"
        )
        yield _counter("openpss_mqtt_reconnects", "MQTT reconnects", bridge, "reconnects")
        subscription = bridge.subscription if bridge is not None else None
        yield _counter(
            "openpss_mqtt_dropped", "events lost while the broker was down", subscription, "dropped"
        )
        queued = bridge.queued if bridge is not None else 0
        yield GaugeMetricFamily("openpss_mqtt_queued", "events waiting for the broker", queued)


def _counter(name: str, documentation: str, owner: Any, attribute: str) -> Metric:
    value = getattr(owner, attribute, 0) if owner is not None else 0
    return CounterMetricFamily(name, documentation, value=value)


def _route_template(scope: Mapping[str, Any]) -> str:
    """The matched route's path template (bounded label values), or "unmatched".

    A route of an included router knows its path without the router's prefix (FastAPI keeps
    included routers apart), so the prefix is what the request path has before the route's part.
    """
    template = getattr(scope.get("route"), "path_format", None)
    if not isinstance(template, str) or not template:
        return "unmatched"
    try:
        concrete = template.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return template
    path = str(scope.get("path", ""))
    if path.endswith(concrete):
        return path[: len(path) - len(concrete)] + template
    return template


def install(app: FastAPI) -> None:
    """Give the app its registry, the request counter and the /metrics route."""
    registry = CollectorRegistry()
    requests = Counter(
        "openpss_http_requests",
        "HTTP requests by route and status",
        ["route", "method", "status"],
        registry=registry,
    )
    registry.register(PlatformCollector(app))
    app.state.metrics_registry = registry

    @app.middleware("http")
    async def count_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        template = _route_template(request.scope)
        requests.labels(template, request.method, str(response.status_code)).inc()
        return response

    app.include_router(router, include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request, principal: Viewer) -> Response:
    """The metrics in the Prometheus text format; needs an API token (Authorization: Bearer)."""
    if principal.via != "token":
        raise HTTPException(401, "send an API token: Authorization: Bearer <token>")
    body = generate_latest(request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE)
