"""Pydantic shapes of the security API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from openpss.platform.fields import DbId
from openpss.platform.security.models import Role


class SystemStatus(BaseModel):
    """Whether the first-start initialization is done."""

    initialized: bool
    version: str


class QuestionIn(BaseModel):
    """A security question and its answer (stored hashed)."""

    question: str = Field(max_length=128)
    answer: str = Field(max_length=128)


class InitializeRequest(BaseModel):
    """First start: the administrator's name, password and security questions."""

    username: str = "admin"
    password: str
    confirm: str
    questions: list[QuestionIn]


class AccountCreate(BaseModel):
    """A new account (administrators only)."""

    username: str
    password: str
    role: Role = Role.viewer
    remark: str = Field("", max_length=255)


class AccountUpdate(BaseModel):
    """Changes to an account; omitted fields stay as they are."""

    role: Role | None = None
    enabled: bool | None = None
    remark: str | None = Field(None, max_length=255)
    allowed_networks: list[str] | None = Field(
        None,
        description="account binding: IP addresses or CIDR networks the account may log in "
        "and use API tokens from; [] allows any address",
    )


class AccountRead(BaseModel):
    """An account as the API shows it (never the hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    enabled: bool
    remark: str
    created_at: dt.datetime
    password_changed_at: dt.datetime
    last_login_at: dt.datetime | None
    last_login_ip: str
    failed_logins: int
    locked_until: dt.datetime | None
    allowed_networks: list[str]


class PasswordSet(BaseModel):
    """A new password and its confirmation."""

    password: str
    confirm: str


class PasswordChange(PasswordSet):
    """Change one's own password: the current one first."""

    current: str


class QuestionsSet(BaseModel):
    """Replace one's security questions."""

    questions: list[QuestionIn]


class TokenCreate(BaseModel):
    """A new API token; `days` empty means it never expires."""

    name: str
    days: int | None = None
    account_id: DbId | None = Field(
        None, description="administrators may issue for another account"
    )


class TokenRead(BaseModel):
    """An API token without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    account_id: DbId
    created_at: dt.datetime
    last_used: dt.datetime | None
    expires_at: dt.datetime | None


class TokenCreated(TokenRead):
    """A freshly issued token: the secret is shown this once."""

    token: str


class AuditRead(BaseModel):
    """One audit-log entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor: str
    source_ip: str
    action: str
    target: str
    detail: str


class AuditPage(BaseModel):
    """A page of audit entries."""

    total: int
    page: int
    per_page: int
    items: list[AuditRead]
    next_cursor: str = Field("", description="pass as `after` for the next page")


class SessionRead(BaseModel):
    """A live console session (online user)."""

    id: int
    username: str
    role: Role
    source_ip: str
    user_agent: str
    created_at: dt.datetime
    last_seen: dt.datetime
    expires_at: dt.datetime


class AddressLock(BaseModel):
    """A locked source address."""

    model_config = ConfigDict(from_attributes=True)

    source_ip: str
    failed_logins: int
    locked_until: dt.datetime | None


class LocksRead(BaseModel):
    """Accounts and addresses locked now."""

    accounts: list[AccountRead]
    addresses: list[AddressLock]
