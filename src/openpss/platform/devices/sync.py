"""Background device sync: online checks, authorization pushes, record pulls and live events.

`run(app)` is listed in app.BACKGROUND_SERVICES. Every `device_poll_seconds` each device with a
password is checked; when online its due authorization tasks are pushed in batches, access
records newer than the pulled watermark (`Device.last_record_no`) are pulled page by page, and
an event-stream listener stores live punches. Records are unique per (device, record number), so
the pull and the stream may overlap without duplicates; the watermark only moves with the pull
(in the same transaction as the records), so a restart or an outage loses nothing. Each cycle
first queues the removal of access nobody may hold any more (validity ended, person gone:
`tasks.revoke_lapsed`).

A door station (VTO) also has an alarm log (tamper, door forced open or left open, duress): its
alarms are stored from the event stream as they happen and pulled after their own watermark
(`Device.last_alarm_no`), unique per (device, alarm number), so an outage of the platform or
of the unit loses none and doubles none. Pulled alarms are stored, not published: the bus
carries the live alarm events (a tamper state hours old is no news for a retained topic).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker, undefer

from openpss.platform.attendance.compute import recompute_for_punches
from openpss.platform.db import session_scope, utcnow
from openpss.platform.devices import live
from openpss.platform.devices.adapter import (
    ALARM_NAMES,
    VTO_EVENT_CODES,
    DahuaAdapter,
    UserPush,
    base_url,
    parse_alarm,
    parse_duress,
)
from openpss.platform.devices.models import Device
from openpss.platform.devices.service import device_password
from openpss.platform.events import Event, EventBus, EventKind
from openpss.platform.people.models import Fingerprint, Person
from openpss.platform.people.secrets import decrypt_pin
from openpss.platform.permissions import tasks
from openpss.platform.permissions.models import (
    AuthorizationTask,
    PermissionGroup,
    PermissionGroupDoor,
    TaskAction,
)
from openpss.platform.records.models import AccessRecord
from openpss.platform.records.service import (
    insert_access_records,
    insert_alarm_records,
    raise_duress_alarms,
)
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaError
from openpss.protocols.dahua_http.events import EventPart

logger = logging.getLogger(__name__)
SYNC_KINDS = ("access", "attendance", "vto")
TASK_BATCH = 1000
_RECORD_FIELDS = {"record_no", "event_time", "user_id", "card_no", "method", "success"}
_RECORD_FIELDS |= {"attendance_state", "device_id", "source"}
PULL_PAGE = 1024  # recordFinder answers at most 1024 records per call
T = TypeVar("T")


@dataclass
class Work:
    """Due tasks of one device, ready to send."""

    pushes: list[tuple[int, UserPush]]
    removals: list[tuple[int, str]]


def _push_for(person: Person, methods: set[str], doors: set[int], settings: Settings) -> UserPush:
    password = ""
    if "password" in methods and person.password_encrypted:
        try:
            password = decrypt_pin(person.password_encrypted, secret_key=settings.secret_key)
        except ValueError:
            logger.warning("password of user %s cannot be decrypted; sent without", person.user_id)
    return UserPush(
        user_id=person.user_id,
        name=person.name,
        password=password,
        cards=[c.number for c in person.cards if not c.frozen] if "card" in methods else [],
        duress_cards=[c.number for c in person.cards if c.kind == "duress" and not c.frozen],
        fingerprints=[f.template for f in person.fingerprints] if "fingerprint" in methods else [],
        administrator=person.administrator,
        doors=sorted(doors) or [1],
        valid_from=person.valid_from,
        valid_to=person.valid_to,
    )


def collect_work(
    session: Session, settings: Settings, device_id: int, limit: int = TASK_BATCH
) -> Work:
    """The device's due tasks with each person's credentials, doors and verification methods."""
    due = tasks.pending_tasks(session=session, device_id=device_id, limit=limit)
    for task in due:
        if task.person_id is None:  # the person was deleted: take them off the device
            task.action = TaskAction.remove
    removals = [(t.id, t.user_id) for t in due if t.action == TaskAction.remove]
    push_tasks = {t.person_id: t for t in due if t.action == TaskAction.push and t.person_id}
    persons = session.scalars(
        select(Person)
        .where(Person.id.in_(list(push_tasks)))
        .options(
            selectinload(Person.cards),
            selectinload(Person.fingerprints).options(undefer(Fingerprint.template)),
        )
    ).all()
    groups_of = tasks.groups_of_persons(session, push_tasks)
    door_rows = session.execute(
        select(PermissionGroupDoor.group_id, PermissionGroupDoor.door).where(
            PermissionGroupDoor.device_id == device_id
        )
    ).all()
    doors_of: dict[int, set[int]] = {}
    for group_id, door in door_rows:
        doors_of.setdefault(group_id, set()).add(door)
    methods_of = dict(
        session.execute(select(PermissionGroup.id, PermissionGroup.verification_methods)).all()
    )
    pushes = []
    for person in persons:
        groups = [g for g in groups_of.get(person.id, ()) if g in doors_of]
        methods = {m for g in groups for m in methods_of.get(g, [])}
        doors = {d for g in groups for d in doors_of[g]}
        task = push_tasks[person.id]
        push = _push_for(person, methods, doors, settings)
        push.replace = task.delivered
        pushes.append((task.id, push))
    return Work(pushes=pushes, removals=removals)


class DeviceSync:
    """Sync state of one device: adapter, event listener, last online state."""

    def __init__(self, service: SyncService, device_id: int) -> None:
        self.service = service
        self.device_id = device_id
        self.adapter: DahuaAdapter | None = None
        self.credentials: tuple[str, int, str, str] | None = None
        self.events_task: asyncio.Task[None] | None = None
        self.listening = False  # the event stream answered (a heartbeat or an event came)
        self.feeding: asyncio.Task[None] | None = None
        self.was_online = False
        self.kind = ""
        self.is_station = False  # magicBox deviceType "VTO...": a door station
        self.calls = live.CallTracker()
        self.snapshot_task: asyncio.Task[None] | None = None

    async def _db(self, fn: Callable[[Session], T]) -> T:
        return await self.service.db(fn)

    def _load(self, session: Session) -> tuple[str, int, str, str] | str:
        device = session.get(Device, self.device_id)
        if device is None:
            return "deleted"
        try:
            password = device_password(settings=self.service.settings, device=device)
        except ValueError as exc:
            device.online, device.last_error = False, str(exc)[:255]
            return "no password"
        self.kind = device.kind
        return (device.host, device.port, device.username, password)

    async def _ensure_adapter(self) -> DahuaAdapter | None:
        loaded = await self._db(self._load)
        if isinstance(loaded, str):
            await self.close()
            return None
        if loaded != self.credentials:
            await self.close()
            host, port, username, password = loaded
            self.adapter = DahuaAdapter(
                base_url(host, port), username, password, timeout=self.service.timeout
            )
            self.credentials = loaded
        return self.adapter

    async def cycle(self) -> None:
        """One pass: online check, time sync, tasks, record pull, event listener."""
        adapter = await self._ensure_adapter()
        if adapter is None:
            return
        try:
            info = await adapter.identify()
        except DahuaError as exc:
            await self._set_offline(str(exc))
            return
        await self._db(lambda s: self._set_online(s, info))
        self.is_station = info.device_type.upper().startswith("VTO")
        if not self.was_online:
            self.service.publish(Event(EventKind.status, self.device_id, {"online": True}))
            with contextlib.suppress(DahuaError):
                await adapter.sync_time(dt.datetime.now())
            # Back online: what failed only because it was offline (revocations included) goes
            # out now rather than after its backoff (up to an hour).
            await self._db(self._retry_offline)
        self.was_online = True
        await self.push_tasks(adapter)
        await self.pull_records(adapter)
        if self.is_station:
            await self.pull_alarms(adapter)
        self._ensure_events(adapter)

    def _retry_offline(self, session: Session) -> None:
        reason = tasks.REASON_OFFLINE
        tasks.retry_tasks(session=session, device_id=self.device_id, reason=reason)

    def _set_online(self, session: Session, info: Any) -> None:
        device = session.get(Device, self.device_id)
        if device is not None:
            device.online, device.last_error = True, ""
            device.device_type, device.serial = info.device_type[:64], info.serial[:64]
            device.firmware = info.software_version[:128]
            device.last_seen = device.last_checked = utcnow()

    async def _set_offline(self, error: str) -> None:
        if self.was_online:
            self.service.publish(Event(EventKind.status, self.device_id, {"online": False}))
        self.was_online = False

        def apply(session: Session) -> None:
            device = session.get(Device, self.device_id)
            if device is not None:
                device.online, device.last_error = False, error[:255]
                device.last_checked = utcnow()
            due = tasks.pending_tasks(session=session, device_id=self.device_id, limit=100_000)
            tasks.mark_results(session=session, results=[(t.id, tasks.REASON_OFFLINE) for t in due])

        await self._db(apply)
        logger.info("device %s offline: %s", self.device_id, error)

    async def push_tasks(self, adapter: DahuaAdapter) -> int:
        """Send due authorization tasks in batches until none is due; returns how many sent."""
        sent = 0
        settings = self.service.settings
        while True:
            work = await self._db(lambda s: collect_work(s, settings, self.device_id))
            if not work.pushes and not work.removals:
                return sent
            results: list[tuple[int, str | None]] = []
            if work.pushes:
                outcome = await adapter.push_users([p for _, p in work.pushes])
                results += [(tid, outcome.get(p.user_id)) for tid, p in work.pushes]
            if work.removals:
                removed = await adapter.remove_users([u for _, u in work.removals])
                results += [(tid, removed.get(u)) for tid, u in work.removals]
            await self._db(functools.partial(_mark, results=results))
            sent += len(results)
            if any(reason == tasks.REASON_OFFLINE for _, reason in results):
                return sent

    async def pull_records(self, adapter: DahuaAdapter) -> int:
        """Pull records after the watermark, committing each page with the new watermark.

        The next page is fetched while the previous one is being stored (pages are stored in
        order, so the watermark never passes a page that is not committed).
        """
        start = await self._db(functools.partial(_watermark, device_id=self.device_id))
        new: list[dict[str, Any]] = []
        storing: asyncio.Task[list[dict[str, Any]]] | None = None
        try:
            async for page in adapter.records_after(start, page=PULL_PAGE):
                if storing is not None:
                    new += await storing
                # The first pull imports the device's history: that is not news for the bus.
                kind = self.kind if start > 0 else ""
                store = functools.partial(
                    _store_page, device_id=self.device_id, kind=kind, page=page
                )
                storing = asyncio.create_task(self._db_published(store))
        except DahuaError as exc:
            logger.info("record pull from device %s stopped: %s", self.device_id, exc)
        finally:
            if storing is not None:
                new += await storing
        self._schedule_feed(new)
        return len(new)

    async def pull_alarms(self, adapter: DahuaAdapter) -> int:
        """Pull a door station's alarm log after its watermark, each page committed with the
        new watermark; returns how many alarms were new (the stream may have stored the rest).
        """
        start = await self._db(functools.partial(_alarm_watermark, device_id=self.device_id))
        new = 0
        try:
            async for page in adapter.alarms_after(start, page=PULL_PAGE):
                store = functools.partial(_store_alarm_page, device_id=self.device_id, page=page)
                new += await self._db(store)
        except DahuaError as exc:
            logger.info("alarm pull from device %s stopped: %s", self.device_id, exc)
        return new

    def _schedule_feed(self, records: list[dict[str, Any]]) -> None:
        """Hand new punches to the attendance engine after the pull, in arrival order."""
        if not records or not self.service.feed_attendance:
            return
        previous = self.feeding

        async def chained() -> None:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            await self._feed(records)

        self.feeding = asyncio.create_task(chained())

    async def drain(self) -> None:
        """Wait until every scheduled attendance update is done."""
        while self.feeding is not None and not self.feeding.done():
            await self.feeding

    async def _feed(self, records: list[dict[str, Any]]) -> None:
        """Update attendance results for new punches (in its own transaction, after storing)."""
        if not records or not self.service.feed_attendance:
            return
        try:
            await self._db(functools.partial(feed_attendance, records=records))
        except Exception:  # the punches are stored; results can be recomputed later
            logger.exception("attendance update for device %s punches failed", self.device_id)

    async def _db_published(
        self, fn: Callable[[Session], tuple[list[dict[str, Any]], list[Event]]]
    ) -> list[dict[str, Any]]:
        """Store in one transaction, then (committed) publish the events it made."""
        records, events = await self._db(fn)
        for event in events:
            self.service.publish(event)
        return records

    def _ensure_events(self, adapter: DahuaAdapter) -> None:
        if self.events_task is None or self.events_task.done():
            self.events_task = asyncio.create_task(self._listen(adapter))

    async def _listen(self, adapter: DahuaAdapter) -> None:
        try:
            extra = VTO_EVENT_CODES if self.is_station else ()
            async for record in adapter.access_events(self.service.heartbeat, extra):
                self.listening = True
                if isinstance(record, EventPart):
                    await self._station_event(adapter, record)
                elif record is not None:
                    store = functools.partial(
                        _store_event, device_id=self.device_id, kind=self.kind, record=record
                    )
                    await self._feed(await self._db_published(store))
        except DahuaError as exc:
            logger.info("event stream of device %s closed: %s", self.device_id, exc)
        finally:
            self.listening = False

    async def _station_event(self, adapter: DahuaAdapter, part: EventPart) -> None:
        """Store a door station's alarm, then publish its event; a ring also publishes its
        snapshot."""
        data = part.data if isinstance(part.data, dict) else {}
        alarm = parse_alarm(data, part.code) if part.code in ALARM_NAMES else None
        if alarm is not None:  # committed before it is published
            store = functools.partial(_store_alarms, device_id=self.device_id, alarms=[alarm])
            await self._db(store)
        if part.code == "Duress":  # the duress alarm event, as a terminal's Duress makes it
            events = [live.duress_event(self.device_id, parse_duress(data))]
        else:
            events = self.calls.events(self.device_id, part)
        for event in events:
            self.service.publish(event)
        ring = any(e.kind is EventKind.doorbell for e in events) and self.service.bus is not None
        idle = self.snapshot_task is None or self.snapshot_task.done()
        if ring and idle:  # taken beside the stream: a slow snapshot holds no event back
            self.snapshot_task = asyncio.create_task(self._publish_snapshot(adapter))

    async def _publish_snapshot(self, adapter: DahuaAdapter) -> None:
        try:
            jpeg = await adapter.snapshot()
        except DahuaError as exc:
            logger.info("snapshot of device %s failed: %s", self.device_id, exc)
            return
        self.service.publish(Event(EventKind.snapshot, self.device_id, {"jpeg": jpeg}))

    async def close(self) -> None:
        """Finish attendance updates, stop the listener and close the connections."""
        await self.drain()
        if self.snapshot_task is not None:
            self.snapshot_task.cancel()
        if self.events_task is not None:
            self.events_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.events_task
            self.events_task = None
        if self.adapter is not None:
            await self.adapter.aclose()
            self.adapter, self.credentials = None, None


def _mark(session: Session, results: list[tuple[int, str | None]]) -> None:
    tasks.mark_results(session=session, results=results)


def _store_event(
    session: Session, device_id: int, kind: str, record: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[Event]]:
    if record.get("alarm") == "duress":  # a Duress event: the alarm, not a punch
        alarm = {k: v for k, v in record.items() if k != "alarm"}
        if raise_duress_alarms(session=session, records=[{"device_id": device_id, **alarm}]):
            return [], [live.duress_event(device_id, alarm)]
        return [], []
    new = insert_access_records(session=session, device_id=device_id, records=[record])
    return new, live.record_events(session, device_id, kind, new)


def feed_attendance(session: Session, records: list[dict[str, Any]]) -> int:
    """Recompute the attendance results the new punches affect; returns person-days updated."""
    punches = [AccessRecord(**{k: v for k, v in r.items() if k in _RECORD_FIELDS}) for r in records]
    return recompute_for_punches(session, [p for p in punches if p.success])


def _watermark(session: Session, device_id: int) -> int:
    device = session.get(Device, device_id)
    return device.last_record_no if device else 0


def _alarm_watermark(session: Session, device_id: int) -> int:
    device = session.get(Device, device_id)
    return device.last_alarm_no if device else 0


def _store_alarms(session: Session, device_id: int, alarms: list[dict[str, Any]]) -> int:
    return len(insert_alarm_records(session=session, device_id=device_id, alarms=alarms))


def _store_alarm_page(session: Session, device_id: int, page: list[dict[str, Any]]) -> int:
    new = _store_alarms(session, device_id, page)
    device = session.get(Device, device_id)
    if device is not None and page:
        device.last_alarm_no = max(device.last_alarm_no, page[-1]["alarm_no"])
    return new


def _store_page(
    session: Session, device_id: int, kind: str, page: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[Event]]:
    new = insert_access_records(session=session, device_id=device_id, records=page)
    device = session.get(Device, device_id)
    if device is not None and page:
        device.last_record_no = max(device.last_record_no, page[-1]["record_no"])
    if not kind:  # the first pull (history): stored, not published
        return new, []
    return new, live.record_events(session, device_id, kind, new)


class SyncService:
    """Runs DeviceSync cycles for every syncable device."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        *,
        timeout: float = 10.0,
        heartbeat: int = 5,
        feed_attendance: bool = True,
        bus: EventBus | None = None,
    ) -> None:
        self.feed_attendance = feed_attendance
        self.bus = bus
        self.failures = 0  # device cycles that ended in an error (Prometheus)
        self.factory = factory
        self.settings = settings
        self.timeout = timeout
        self.heartbeat = heartbeat
        self.devices: dict[int, DeviceSync] = {}

    async def db(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in its own committed transaction, off the event loop."""

        def work() -> T:
            with session_scope(self.factory) as session:
                return fn(session)

        return await asyncio.to_thread(work)

    def publish(self, event: Event) -> None:
        """Hand a (committed) event to the bus, if there is one."""
        if self.bus is not None:
            self.bus.publish(event)

    async def run_once(self) -> None:
        """One cycle over all devices (concurrently), after queueing lapsed access for removal."""
        await self.db(tasks.revoke_lapsed)
        ids = await self.db(
            lambda s: list(s.scalars(select(Device.id).where(Device.kind.in_(SYNC_KINDS))))
        )
        for gone in set(self.devices) - set(ids):
            await self.devices.pop(gone).close()
        for device_id in ids:
            self.devices.setdefault(device_id, DeviceSync(self, device_id))
        results = await asyncio.gather(
            *(self.devices[i].cycle() for i in ids), return_exceptions=True
        )
        for device_id, result in zip(ids, results, strict=True):
            if isinstance(result, Exception):
                self.failures += 1
                logger.exception("sync of device %s failed", device_id, exc_info=result)

    async def run_forever(self) -> None:
        """Cycle every device_poll_seconds until cancelled."""
        try:
            while True:
                try:
                    await self.run_once()
                except Exception:  # e.g. the database is briefly unavailable: try next cycle
                    logger.exception("device sync cycle failed")
                await asyncio.sleep(self.settings.device_poll_seconds)
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop every listener."""
        for sync in self.devices.values():
            await sync.close()
        self.devices.clear()


async def run(app: FastAPI) -> None:
    """Background service entry point (app.BACKGROUND_SERVICES)."""
    bus: EventBus | None = getattr(app.state, "event_bus", None)
    service = SyncService(app.state.session_factory, app.state.settings, bus=bus)
    app.state.device_sync = service
    await service.run_forever()


__all__ = ["AuthorizationTask", "SyncService", "collect_work", "run"]
