"""Pydantic schemas of the personnel API (XCreate / XUpdate / XRead)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from openpss.platform.fields import DbId, Keep, PatchModel
from openpss.platform.listing import MAX_LIMIT, ListQuery

USER_TYPES = ("general", "blocklist", "guest", "patrol", "vip", "disabled")
GENDERS = ("", "male", "female")
TITLES = ("", "Mr", "Mrs", "Ms", "Miss", "Dr")
ID_TYPES = ("", "id", "passport")
CARD_KINDS = ("main", "duress")
USER_ID_RULE = "1-32 letters or digits"
_USER_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TEL = re.compile(r"[0-9+\-() ]*")


def _user_id(value: str) -> str:
    value = value.strip()
    if not _USER_ID.fullmatch(value):
        raise ValueError(f"user ID {value!r} must be {USER_ID_RULE}")
    return value


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("name is required")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if value and not _EMAIL.fullmatch(value):
        raise ValueError(f"email {value!r} is not an address like name@example.com")
    return value


def _tel(value: str) -> str:
    value = value.strip()
    if not _TEL.fullmatch(value):
        raise ValueError(f"telephone {value!r} may hold only digits, spaces and + - ( )")
    return value


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # console forms send wall time; we store UTC
    return value


def _past(value: dt.date | None) -> dt.date | None:
    if value is not None and value > dt.date.today():
        raise ValueError("date of birth is in the future")
    return value


UserId = Annotated[str, AfterValidator(_user_id)]
Name = Annotated[str, StringConstraints(max_length=64), AfterValidator(_name)]
Email = Annotated[str, StringConstraints(max_length=128), AfterValidator(_email)]
Tel = Annotated[str, StringConstraints(max_length=32), AfterValidator(_tel)]
Aware = Annotated[dt.datetime | None, AfterValidator(_aware)]
SetTime = Annotated[dt.datetime, AfterValidator(_aware)]
Birth = Annotated[dt.date | None, AfterValidator(_past)]
Text32 = Annotated[str, StringConstraints(max_length=32, strip_whitespace=True)]
Text64 = Annotated[str, StringConstraints(max_length=64, strip_whitespace=True)]
Text255 = Annotated[str, StringConstraints(max_length=255, strip_whitespace=True)]
UserType = Literal["general", "blocklist", "guest", "patrol", "vip", "disabled"]
Gender = Literal["", "male", "female"]
Title = Literal["", "Mr", "Mrs", "Ms", "Miss", "Dr"]
IdType = Literal["", "id", "passport"]
TimesUsed = Annotated[int | None, Field(ge=1, le=99_999_999, description="None: unlimited")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompanyUpdate(_Strict):
    """Company info (manual 1.1); the logo is uploaded separately."""

    name: Name
    fax: Tel = ""
    email: Email = ""
    telephone: Tel = ""
    website: Annotated[str, StringConstraints(max_length=128, strip_whitespace=True)] = ""
    postal_code: Annotated[str, StringConstraints(max_length=16, strip_whitespace=True)] = ""
    address: Text255 = ""


class CompanyRead(CompanyUpdate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: int
    has_logo: bool = False


class DepartmentCreate(_Strict):
    name: Name
    parent_id: DbId = Field(description="the superior department")


class DepartmentUpdate(_Strict):
    name: Name


class DepartmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    parent_id: DbId | None
    person_count: int = 0
    children: list[DepartmentRead] = []


class PersonFields(_Strict):
    """Fields shared by create and update: Basic Info and Extended information."""

    name: Name
    department_id: DbId | None = Field(None, description="default: the root department")
    user_type: UserType = "general"
    valid_from: Aware = Field(None, description="default: now")
    valid_to: Aware = Field(None, description="default: ten years after valid_from")
    times_used: TimesUsed = None
    gender: Gender = ""
    title: Title = ""
    date_of_birth: Birth = None
    tel: Tel = ""
    email: Email = ""
    mailing_address: Text255 = ""
    administrator: bool = False
    remark: Text255 = ""
    id_type: IdType = ""
    id_number: Text32 = ""
    company: Text64 = ""
    occupation: Text64 = ""
    employment_date: Aware = None
    termination_date: Aware = None


class PersonCreate(PersonFields):
    user_id: UserId


class PersonUpdate(PatchModel, _Strict):
    """Only the fields sent are changed; `null` clears only the fields that may be empty
    (department: the root, times used, date of birth, employment and termination dates)."""

    user_id: UserId | Keep = None
    name: Name | Keep = None
    department_id: DbId | None = None
    user_type: UserType | Keep = None
    valid_from: SetTime | Keep = None
    valid_to: SetTime | Keep = None
    times_used: TimesUsed = None
    gender: Gender | Keep = None
    title: Title | Keep = None
    date_of_birth: Birth = None
    tel: Tel | Keep = None
    email: Email | Keep = None
    mailing_address: Text255 | Keep = None
    administrator: bool | Keep = None
    remark: Text255 | Keep = None
    id_type: IdType | Keep = None
    id_number: Text32 | Keep = None
    company: Text64 | Keep = None
    occupation: Text64 | Keep = None
    employment_date: Aware = None
    termination_date: Aware = None


class CardCreate(_Strict):
    number: str = Field(description="in the system's card issuing type (hex default / decimal)")
    kind: Literal["main", "duress"] = "main"


class CardUpdate(_Strict):
    kind: Literal["main", "duress"] | None = None
    frozen: bool | None = None
    number: str | None = Field(None, description="replace the card with this number")


class CardRead(BaseModel):
    id: int
    number: str = Field(description="shown in the card issuing type")
    number_hex: str
    kind: str
    frozen: bool


class FaceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    content_type: str
    width: int
    height: int


class FingerprintCreate(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
    template: str = Field(description="the scanner's template, base64")


class FingerprintRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str


class PasswordSet(_Strict):
    password: str = Field(description="6-8 digits")


class PersonSummary(BaseModel):
    """A row of the person list."""

    id: int
    user_id: str
    name: str
    department_id: DbId
    department: str
    user_type: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    cards: list[CardRead]


class PersonRead(PersonSummary):
    """One person with every field and credential summary."""

    times_used: int | None
    gender: str
    title: str
    date_of_birth: dt.date | None
    tel: str
    email: str
    mailing_address: str
    administrator: bool
    remark: str
    id_type: str
    id_number: str
    company: str
    occupation: str
    employment_date: dt.datetime | None
    termination_date: dt.datetime | None
    has_password: bool
    faces: list[FaceRead]
    fingerprints: list[FingerprintRead]


SearchField = Literal["any", "id", "name", "card"]


class PersonQuery(ListQuery):
    """The person list: search text in one field or any, department subtree, paging."""

    q: str = Field("", max_length=64, description="user ID prefix, name part or card prefix")
    field: SearchField = Field("any", description="which field the text is searched in")
    department_id: DbId | None = Field(None, description="this department and its subtree")
    limit: int = Field(20, ge=1, le=MAX_LIMIT, description="rows per page")


class PersonPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[PersonSummary]


class BatchAdd(_Strict):
    start_user_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,32}$")] = Field(
        description="numeric; users get consecutive IDs from it"
    )
    quantity: int = Field(ge=1, le=1000)
    department_id: DbId | None = None
    valid_from: Aware = None
    valid_to: Aware = None


class BatchIssueCards(_Strict):
    person_ids: list[DbId] = Field(min_length=1, max_length=1000)
    card_numbers: list[str] = Field(min_length=1, max_length=1000)


class BatchEdit(_Strict):
    person_ids: list[DbId] = Field(min_length=1, max_length=10000)
    department_id: DbId | None = None
    valid_from: Aware = None
    valid_to: Aware = None


class BatchDelete(_Strict):
    person_ids: list[DbId] = Field(min_length=1, max_length=10000)


class CardModeRead(BaseModel):
    mode: Literal["hex", "decimal"]


class ImportError_(BaseModel):
    row: int
    reason: str


class ImportResult(BaseModel):
    imported: int
    errors: list[ImportError_]
