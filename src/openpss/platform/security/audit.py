"""The audit log: every login and every change, with who, what, when and from where."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from openpss.platform.security.models import AuditEntry

logger = logging.getLogger(__name__)
# Audit events also go to this logger; the syslog forwarder attaches a handler to it.
audit_logger = logging.getLogger("openpss.audit")


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an account name (or 'system') and the source address."""

    name: str
    source_ip: str = ""


SYSTEM = Actor("system")


def record_audit(
    *, session: Session, actor: Actor, action: str, target: str = "", detail: Any = ""
) -> AuditEntry:
    """Add an audit entry to the session (committed with the change it describes)."""
    text = detail if isinstance(detail, str) else json.dumps(detail, default=str, sort_keys=True)
    entry = AuditEntry(
        actor=actor.name, source_ip=actor.source_ip, action=action, target=target, detail=text
    )
    session.add(entry)
    audit_logger.info(
        "actor=%s ip=%s action=%s target=%s", actor.name, actor.source_ip, action, target
    )
    return entry
