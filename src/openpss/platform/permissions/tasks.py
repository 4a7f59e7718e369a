"""Authorization tasks: one per (person, device) that group membership grants, and its progress.

Group and person changes call `requeue` with the pairs they may have affected; only those tasks
change. The device sync service takes work with `pending_tasks` and reports with `mark_task`.

Revocation is tracked like a push: a pair that is no longer granted (person deleted, removed
from a group, group taken off a door, validity ended, ...) becomes a `remove` task that goes
pending -> success / failed (with reason and retry). A succeeded removal stays visible as
"remove / success" until the pair is granted again. Only a push the device never received is
dropped instead (there is nothing to take back).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from openpss.platform.db import contains_text, utcnow
from openpss.platform.devices.models import Device
from openpss.platform.errors import NotFound
from openpss.platform.listing import Page, paginate
from openpss.platform.people.models import Department, Person
from openpss.platform.permissions.models import (
    AuthorizationTask,
    PermissionGroupDepartment,
    PermissionGroupDoor,
    PermissionGroupPerson,
    TaskAction,
    TaskStatus,
)
from openpss.platform.permissions.schemas import ProgressQuery, TaskQuery
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)

Pair = tuple[int, int]  # (person_id, device_id)
CHUNK = 500
# Failure reasons the device sync reports (issue 4).
REASON_LIMIT = "device limit reached"
REASON_OFFLINE = "offline"
REASON_REJECTED = "rejected"
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600

T = TypeVar("T")


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """Split `items` into lists of at most `size` (keeps IN clauses small)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def department_subtrees(session: Session) -> dict[int, set[int]]:
    """Each department id mapped to itself plus all its sub-departments."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for dep_id, parent_id in session.execute(select(Department.id, Department.parent_id)):
        children[parent_id].append(dep_id)
    result: dict[int, set[int]] = {}

    def walk(dep_id: int) -> set[int]:
        if dep_id not in result:
            found = {dep_id}
            for child in children.get(dep_id, []):
                found |= walk(child)
            result[dep_id] = found
        return result[dep_id]

    for dep_ids in list(children.values()):
        for dep_id in dep_ids:
            walk(dep_id)
    return result


def group_person_ids(session: Session, group_id: int) -> set[int]:
    """Persons a group covers: direct members plus everyone in its departments' subtrees."""
    member = PermissionGroupPerson
    direct = set(session.scalars(select(member.person_id).where(member.group_id == group_id)))
    dep_ids = list(
        session.scalars(
            select(PermissionGroupDepartment.department_id).where(
                PermissionGroupDepartment.group_id == group_id
            )
        )
    )
    if dep_ids:
        subtrees = department_subtrees(session)
        covered = set().union(*(subtrees.get(d, {d}) for d in dep_ids))
        for batch in chunks(covered):
            direct.update(session.scalars(select(Person.id).where(Person.department_id.in_(batch))))
    return direct


def group_device_ids(session: Session, group_id: int) -> set[int]:
    """Devices with at least one door in the group."""
    query = select(PermissionGroupDoor.device_id).where(PermissionGroupDoor.group_id == group_id)
    return set(session.scalars(query))


def groups_of_persons(session: Session, person_ids: Iterable[int]) -> dict[int, set[int]]:
    """Each person id mapped to the group ids that cover it (directly or by department)."""
    result: dict[int, set[int]] = defaultdict(set)
    ids = list(set(person_ids))
    dep_groups: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(PermissionGroupDepartment.department_id, PermissionGroupDepartment.group_id)
    ).all()
    if rows:
        subtrees = department_subtrees(session)
        for dep_id, group_id in rows:
            for sub in subtrees.get(dep_id, {dep_id}):
                dep_groups[sub].add(group_id)
    for batch in chunks(ids):
        for person_id, group_id in session.execute(
            select(PermissionGroupPerson.person_id, PermissionGroupPerson.group_id).where(
                PermissionGroupPerson.person_id.in_(batch)
            )
        ):
            result[person_id].add(group_id)
        if dep_groups:
            for person_id, dep_id in session.execute(
                select(Person.id, Person.department_id).where(Person.id.in_(batch))
            ):
                result[person_id] |= dep_groups.get(dep_id, set())
    return result


def expired_persons(
    session: Session, person_ids: Iterable[int], now: dt.datetime | None = None
) -> set[int]:
    """The persons among `person_ids` whose validity period has ended."""
    now = now or utcnow()
    found: set[int] = set()
    for batch in chunks(set(person_ids)):
        query = select(Person.id).where(Person.id.in_(batch), Person.valid_to <= now)
        found.update(session.scalars(query))
    return found


def desired_pairs(
    session: Session, person_ids: Iterable[int], now: dt.datetime | None = None
) -> set[Pair]:
    """The (person, device) pairs the persons should have according to all groups.

    A person whose validity has ended has none: devices must not hold them any more.
    """
    by_person = groups_of_persons(session, person_ids)
    for person_id in expired_persons(session, by_person, now):
        del by_person[person_id]
    devices_of: dict[int, set[int]] = defaultdict(set)
    for group_id, device_id in session.execute(
        select(PermissionGroupDoor.group_id, PermissionGroupDoor.device_id)
    ):
        devices_of[group_id].add(device_id)
    return {
        (person_id, device_id)
        for person_id, groups in by_person.items()
        for group_id in groups
        for device_id in devices_of.get(group_id, ())
    }


def _user_ids(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for batch in chunks(set(person_ids)):
        query = select(Person.id, Person.user_id).where(Person.id.in_(batch))
        found.update(session.execute(query).all())
    return found


def _existing_tasks(session: Session, person_ids: Iterable[int]) -> dict[Pair, AuthorizationTask]:
    found: dict[Pair, AuthorizationTask] = {}
    for batch in chunks(set(person_ids)):
        query = select(AuthorizationTask).where(AuthorizationTask.person_id.in_(batch))
        for task in session.scalars(query):
            assert task.person_id is not None
            found[(task.person_id, task.device_id)] = task
    return found


def requeue(
    session: Session,
    *,
    push: Iterable[Pair] = (),
    check: Iterable[Pair] = (),
    now: dt.datetime | None = None,
) -> int:
    """Queue `push` pairs for (re)sending; `check` pairs no longer granted are queued for removal.

    Returns the number of tasks created or changed.
    """
    push_set, check_set = set(push), set(check)
    if check_set:
        still = desired_pairs(session, {p for p, _ in check_set}, now)
        push_set |= check_set & still
        check_set -= still
    persons = {p for p, _ in push_set | check_set}
    existing = _existing_tasks(session, persons)
    user_ids = _user_ids(session, persons)
    now = now or utcnow()
    _detach_renamed(session, existing, user_ids, now)
    queued = {"action": TaskAction.push, "status": TaskStatus.pending, "failure_reason": ""}
    reset = {**queued, "attempts": 0, "next_attempt_at": None, "updated_at": now}
    existing |= _adopt_orphans(
        session, {pair for pair in push_set if pair not in existing}, user_ids
    )
    updates = [{"id": existing[pair].id, **reset} for pair in push_set if pair in existing]
    inserts = [
        {"person_id": p, "device_id": d, "user_id": user_ids[p], **reset}
        for p, d in sorted(push_set)
        if (p, d) not in existing and p in user_ids
    ]
    changed = len(updates) + len(inserts)
    for pair in check_set & existing.keys():
        changed += _queue_removal(session, existing[pair], now)
    if updates:
        session.execute(update(AuthorizationTask), updates)
    if inserts:
        session.execute(insert(AuthorizationTask), inserts)
    session.flush()
    logger.debug("requeued %d authorization tasks", changed)
    return changed


def _detach_renamed(
    session: Session,
    existing: dict[Pair, AuthorizationTask],
    user_ids: dict[int, str],
    now: dt.datetime,
) -> None:
    """Tasks under a person's old user ID: remove that ID from the device, start afresh."""
    for pair, task in list(existing.items()):
        current = user_ids.get(pair[0])
        if current is not None and task.user_id != current:
            _queue_removal(session, task, now)
            task.person_id = None
            del existing[pair]
    session.flush()


def _adopt_orphans(
    session: Session, pairs: set[Pair], user_ids: dict[int, str]
) -> dict[Pair, AuthorizationTask]:
    """Tasks left by a deleted person whose user ID a new person now holds: take them over."""
    wanted = {(d, user_ids[p]): (p, d) for p, d in pairs if p in user_ids}
    adopted: dict[Pair, AuthorizationTask] = {}
    for batch in chunks(sorted({u for _, u in wanted})):
        query = select(AuthorizationTask).where(
            AuthorizationTask.person_id.is_(None), AuthorizationTask.user_id.in_(batch)
        )
        for task in session.scalars(query):
            pair = wanted.get((task.device_id, task.user_id))
            if pair is not None:
                task.person_id = pair[0]
                adopted[pair] = task
    session.flush()
    return adopted


def _queue_removal(session: Session, task: AuthorizationTask, now: dt.datetime) -> int:
    """A granted pair was withdrawn: remove from the device, or just forget a never-sent push.

    A re-push queued for a person the device already holds (`delivered`) is not "never sent":
    dropping it would leave the person on the device, so it becomes a removal too.
    """
    if task.action == TaskAction.remove and task.status == TaskStatus.success:
        return 0  # already taken off the device
    never_sent = task.status == TaskStatus.pending and task.attempts == 0
    if task.action == TaskAction.push and never_sent and not task.delivered:
        session.delete(task)
        return 1
    task.action = TaskAction.remove
    task.status = TaskStatus.pending
    task.failure_reason = ""
    task.attempts = 0
    task.next_attempt_at = None
    task.updated_at = now
    return 1


def missing_pairs(session: Session, pairs: set[Pair]) -> set[Pair]:
    """The pairs that have no task yet (e.g. persons added to a department since)."""
    existing = _existing_tasks(session, {p for p, _ in pairs})
    return pairs - existing.keys()


def requeue_person(*, session: Session, person_id: int) -> int:
    """A person's credentials, validity or department changed: re-send them to their devices."""
    return requeue_persons(session=session, person_ids=[person_id])


def requeue_persons(*, session: Session, person_ids: Iterable[int]) -> int:
    """requeue_person for many persons at once (batch edits, imports)."""
    ids = set(person_ids)
    if not ids:
        return 0
    existing = set(_existing_tasks(session, ids).keys())
    return requeue(session, push=desired_pairs(session, ids), check=existing)


def person_deleted(*, session: Session, person_id: int) -> int:
    """Call before deleting a person: their device entries are queued for removal.

    The permission hooks call it for every person deleted through the ORM (no flush here: it
    also runs inside the session's flush).
    """
    return persons_deleted(session=session, person_ids=[person_id])


def persons_deleted(*, session: Session, person_ids: Iterable[int]) -> int:
    """person_deleted for many persons (batch delete)."""
    count = 0
    now = utcnow()
    with session.no_autoflush:
        for task in _existing_tasks(session, person_ids).values():
            count += _queue_removal(session, task, now)
            task.person_id = None
    return count


def revoke_lapsed(session: Session, now: dt.datetime | None = None) -> int:
    """Queue removal of device entries nobody may hold any more; returns how many changed.

    Run periodically by the device sync service: persons whose validity ended since they were
    pushed, and entries whose person is gone (deleted by any path, e.g. before this check).
    """
    now = now or utcnow()
    orphans = session.execute(
        update(AuthorizationTask)
        .where(AuthorizationTask.person_id.is_(None), AuthorizationTask.action == TaskAction.push)
        .values(
            action=TaskAction.remove,
            status=TaskStatus.pending,
            failure_reason="",
            attempts=0,
            next_attempt_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    expired = session.execute(
        select(AuthorizationTask.person_id, AuthorizationTask.device_id)
        .join(Person, Person.id == AuthorizationTask.person_id)
        .where(AuthorizationTask.action == TaskAction.push, Person.valid_to <= now)
    ).all()
    changed = int(getattr(orphans, "rowcount", 0) or 0)
    if expired:
        pairs = {(p, d) for p, d in expired if p is not None}
        changed += requeue(session, check=pairs, now=now)
        logger.info("validity ended: %d device entries queued for removal", len(expired))
    session.flush()
    return changed


def due_condition(now: dt.datetime) -> Any:
    """Tasks to work on now: pending ones, and failed ones whose backoff has passed."""
    retry_due = and_(
        AuthorizationTask.status == TaskStatus.failed,
        AuthorizationTask.next_attempt_at.is_not(None),
        AuthorizationTask.next_attempt_at <= now,
    )
    return or_(AuthorizationTask.status == TaskStatus.pending, retry_due)


def pending_tasks(
    *, session: Session, device_id: int, limit: int = 1000, now: dt.datetime | None = None
) -> list[AuthorizationTask]:
    """Up to `limit` tasks of a device due now (pending, or failed with the backoff elapsed)."""
    query = (
        select(AuthorizationTask)
        .where(AuthorizationTask.device_id == device_id, due_condition(now or utcnow()))
        .order_by(AuthorizationTask.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def backoff(attempts: int) -> dt.timedelta:
    """Wait before retry number `attempts`: 30 s doubling up to one hour."""
    seconds = BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, BACKOFF_MAX_SECONDS))


def mark_task(
    *,
    session: Session,
    task_id: int,
    success: bool,
    reason: str = "",
    retry: bool = True,
    now: dt.datetime | None = None,
) -> AuthorizationTask | None:
    """Record a push/remove result; failures retry with backoff unless `retry` is False.

    A successful removal stays as "remove / success" (the device no longer holds the person).
    """
    task = session.get(AuthorizationTask, task_id)
    if task is None:
        raise NotFound(f"authorization task {task_id} does not exist")
    now = now or utcnow()
    task.attempts += 1
    task.updated_at = now
    if success:
        task.status, task.failure_reason, task.next_attempt_at = TaskStatus.success, "", None
        task.delivered = task.action == TaskAction.push
    else:
        task.status = TaskStatus.failed
        task.failure_reason = (reason or REASON_REJECTED)[:255]
        task.next_attempt_at = now + backoff(task.attempts) if retry else None
    session.flush()
    return task


def mark_tasks(
    *, session: Session, results: Sequence[tuple[int, bool, str]], retry: bool = True
) -> None:
    """mark_task for many (task_id, success, reason) results."""
    for task_id, success, reason in results:
        mark_task(session=session, task_id=task_id, success=success, reason=reason, retry=retry)


def retry_tasks(
    *,
    session: Session,
    task_ids: Sequence[int] | None = None,
    device_id: int | None = None,
    reason: str | None = None,
    actor: Actor | None = None,
) -> int:
    """Put failed tasks back to pending now; returns how many.

    `reason` limits it to tasks that failed for that reason (e.g. offline). The retry button
    passes its `actor` and is audited; the device sync's own retry (no actor) is not.
    """
    query = update(AuthorizationTask).where(AuthorizationTask.status == TaskStatus.failed)
    if task_ids is not None:
        query = query.where(AuthorizationTask.id.in_(list(task_ids)))
    if device_id is not None:
        query = query.where(AuthorizationTask.device_id == device_id)
    if reason is not None:
        query = query.where(AuthorizationTask.failure_reason == reason)
    values = {"status": TaskStatus.pending, "next_attempt_at": None, "updated_at": utcnow()}
    result = session.execute(query.values(**values).execution_options(synchronize_session=False))
    session.flush()
    count = int(getattr(result, "rowcount", 0) or 0)
    if actor is not None:
        ids = None if task_ids is None else list(task_ids)
        detail = {"task_ids": ids, "device_id": device_id, "count": count}
        record_audit(session=session, actor=actor, action="authorization.retry", detail=detail)
    return count


def _status_sums() -> list[Any]:
    """Counts per status, plus "revoked": removals that succeeded (part of "success")."""
    revoked = and_(
        AuthorizationTask.action == TaskAction.remove,
        AuthorizationTask.status == TaskStatus.success,
    )
    return [
        *(
            func.sum(case((AuthorizationTask.status == s, 1), else_=0)).label(s.value)
            for s in TaskStatus
        ),
        func.sum(case((revoked, 1), else_=0)).label("revoked"),
    ]


def progress_by_device(*, session: Session) -> list[dict[str, Any]]:
    """Per device: name, online and the number of pending / success / failed / revoked tasks."""
    query = (
        select(Device.id, Device.name, Device.online, *_status_sums())
        .join(AuthorizationTask, AuthorizationTask.device_id == Device.id)
        .group_by(Device.id, Device.name, Device.online)
        .order_by(Device.name)
    )
    return [dict(row._mapping) for row in session.execute(query)]


def progress_by_person(*, session: Session, query: ProgressQuery) -> Page[dict[str, Any]]:
    """Per person (paged): user ID, name and task counts; only persons that have tasks."""
    statement = (
        select(AuthorizationTask.user_id, func.max(Person.name).label("name"), *_status_sums())
        .outerjoin(Person, Person.id == AuthorizationTask.person_id)
        .group_by(AuthorizationTask.user_id)
    )
    if query.search:
        statement = statement.where(contains_text(AuthorizationTask.user_id, query.search))
    page = paginate(session, statement, query, order=(AuthorizationTask.user_id,), scalars=False)
    page.items = [dict(row._mapping) for row in page.items]
    return page


def list_tasks(*, session: Session, query: TaskQuery) -> Page[AuthorizationTask]:
    """Tasks filtered by status / device / person / action / user ID, newest change first.

    `user_id` also finds the removals of deleted persons (they have no person any more).
    """
    statement = select(AuthorizationTask)
    if query.status is not None:
        statement = statement.where(AuthorizationTask.status == query.status)
    if query.action is not None:
        statement = statement.where(AuthorizationTask.action == query.action)
    if query.user_id is not None:
        statement = statement.where(AuthorizationTask.user_id == query.user_id)
    if query.device_id is not None:
        statement = statement.where(AuthorizationTask.device_id == query.device_id)
    if query.person_id is not None:
        statement = statement.where(AuthorizationTask.person_id == query.person_id)
    order = (AuthorizationTask.updated_at.desc(), AuthorizationTask.id.desc())
    return paginate(session, statement, query, order=order)


def mark_results(
    *,
    session: Session,
    results: Sequence[tuple[int, str | None]],
    now: dt.datetime | None = None,
) -> None:
    """Record many (task_id, failure reason or None) results at once (device sync batches)."""
    now = now or utcnow()
    ok = [task_id for task_id, reason in results if reason is None]
    task = AuthorizationTask
    for batch in chunks(ok, 1000):
        session.execute(
            update(task)
            .where(task.id.in_(batch), task.action == TaskAction.push)
            .values(
                status=TaskStatus.success,
                delivered=True,
                failure_reason="",
                next_attempt_at=None,
                attempts=task.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(task)
            .where(task.id.in_(batch), task.action == TaskAction.remove)
            .values(
                status=TaskStatus.success,
                delivered=False,
                failure_reason="",
                next_attempt_at=None,
                attempts=task.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    for task_id, reason in results:
        if reason is not None and session.get(task, task_id) is not None:
            mark_task(session=session, task_id=task_id, success=False, reason=reason, now=now)
    session.flush()
