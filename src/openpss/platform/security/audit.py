"""The audit log: every login and every change, with who, what, when and from where."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from logging.handlers import SysLogHandler
from typing import Any

from pydantic import Field, model_validator
from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session

from openpss.platform.db import starts_with_text
from openpss.platform.fields import IsoDateTime
from openpss.platform.listing import MAX_LIMIT, Keyset, KeysetQuery, Page, paginate
from openpss.platform.security.models import AuditEntry
from openpss.platform.xlsx import xlsx_bytes

logger = logging.getLogger(__name__)
# Audit events also go to this logger; the syslog forwarder attaches a handler to it.
audit_logger = logging.getLogger("openpss.audit")
# Audit lines waiting for their transaction to commit (a rolled-back change is not announced).
_PENDING = "openpss.audit.pending"


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an account name (or 'system') and the source address."""

    name: str
    source_ip: str = ""


SYSTEM = Actor("system")


def record_audit(
    *, session: Session, actor: Actor, action: str, target: str = "", detail: Any = ""
) -> AuditEntry:
    """Add an audit entry to the session (committed with the change it describes).

    Call it after the change succeeded. The entry reaches the audit log (and syslog) only when
    the transaction commits: a change rolled back afterwards leaves no trace there.
    """
    text = detail if isinstance(detail, str) else json.dumps(detail, default=str, sort_keys=True)
    entry = AuditEntry(
        actor=actor.name, source_ip=actor.source_ip, action=action, target=target, detail=text
    )
    session.add(entry)
    session.info.setdefault(_PENDING, []).append((actor.name, actor.source_ip, action, target))
    return entry


@event.listens_for(Session, "after_commit")
def _announce_committed(session: Session) -> None:
    for name, source_ip, action, target in session.info.pop(_PENDING, []):
        audit_logger.info("actor=%s ip=%s action=%s target=%s", name, source_ip, action, target)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


class AuditQuery(KeysetQuery):
    """Audit-log search: actor, action prefix, time range [since, until); naive means UTC."""

    actor: str = Field("", max_length=64, description="account name, exactly")
    action: str = Field("", max_length=64, description="prefix, e.g. 'login' or 'account.'")
    since: IsoDateTime | None = Field(None, description="from this time (inclusive)")
    until: IsoDateTime | None = Field(None, description="before this time (exclusive)")
    per_page: int | None = Field(None, ge=1, le=MAX_LIMIT, description="same as `limit`")

    @model_validator(mode="before")
    @classmethod
    def _per_page_is_limit(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("per_page") not in (None, ""):
            data = {**data, "limit": data["per_page"]}
        return data

    @model_validator(mode="after")
    def _aware(self) -> AuditQuery:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                setattr(self, name, value.replace(tzinfo=dt.UTC))
        return self


AUDIT_ORDER = Keyset(AuditEntry.at, AuditEntry.id)


def _filtered(query: Select[Any], flt: AuditQuery) -> Select[Any]:
    if flt.actor:
        query = query.where(AuditEntry.actor == flt.actor)
    if flt.action:
        query = query.where(starts_with_text(AuditEntry.action, flt.action))
    if flt.since is not None:
        query = query.where(AuditEntry.at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditEntry.at < flt.until)
    return query


def search_audit(*, session: Session, query: AuditQuery) -> Page[AuditEntry]:
    """One page of matching entries, newest first (keyset paging with `after`), and the total."""
    return paginate(session, _filtered(select(AuditEntry), query), query, keyset=AUDIT_ORDER)


def recent_audit(*, session: Session, limit: int = 10) -> list[AuditEntry]:
    """The newest entries (one query, no count: the dashboard's list)."""
    query = select(AuditEntry).order_by(*AUDIT_ORDER.order()).limit(limit)
    return list(session.scalars(query))


def iter_audit(*, session: Session, flt: AuditQuery, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every matching entry, oldest first, fetched in batches (for exports)."""
    query = _filtered(select(AuditEntry), flt).order_by(AuditEntry.at, AuditEntry.id)
    yield from session.scalars(query.execution_options(yield_per=batch))


EXPORT_COLUMNS = ["time (UTC)", "actor", "source IP", "action", "target", "detail"]


def _row(entry: AuditEntry) -> list[str]:
    at = entry.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return [at, entry.actor, entry.source_ip, entry.action, entry.target, entry.detail]


def export_csv(*, session: Session, flt: AuditQuery) -> str:
    """The matching entries as CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for entry in iter_audit(session=session, flt=flt):
        writer.writerow(_row(entry))
    return buffer.getvalue()


def export_xlsx(*, session: Session, flt: AuditQuery) -> bytes:
    """The matching entries as an xlsx workbook (streaming write-only sheet)."""
    rows = (_row(entry) for entry in iter_audit(session=session, flt=flt))
    return xlsx_bytes("Audit log", rows, EXPORT_COLUMNS)


def parse_syslog_address(address: str) -> tuple[str, int]:
    """'host:port' (port default 514) as a tuple; ValueError with a clear message otherwise."""
    host, _, port = address.strip().rpartition(":") if ":" in address else (address, "", "514")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"syslog address must be host:port, got {address!r}")
    return host.strip("[]"), int(port)


def attach_syslog(address: str) -> logging.Handler:
    """Forward every audit event to a syslog server over UDP."""
    handler = SysLogHandler(address=parse_syslog_address(address), facility=SysLogHandler.LOG_AUTH)
    handler.setFormatter(logging.Formatter("openpss: %(message)s"))
    audit_logger.addHandler(handler)
    if audit_logger.level == logging.NOTSET or audit_logger.level > logging.INFO:
        audit_logger.setLevel(logging.INFO)
    return handler


async def forward_to_syslog(app: Any) -> None:
    """Background service: attach the syslog handler while the server runs."""
    address = app.state.settings.syslog_address
    if not address:
        return
    try:
        handler = attach_syslog(address)
    except (ValueError, OSError) as exc:
        logger.error("audit events are NOT forwarded to syslog: %s", exc)
        return
    logger.info("forwarding audit events to syslog at %s", address)
    try:
        await asyncio.Event().wait()
    finally:
        audit_logger.removeHandler(handler)
        handler.close()
