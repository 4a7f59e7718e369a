"""Person import and export as xlsx (manual 1.4.4, 1.6), with openpyxl.

Import validates the whole file first and writes nothing unless every row is valid; export
streams rows through openpyxl's write-only mode.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from openpss.platform.errors import DomainError, Invalid
from openpss.platform.people import org
from openpss.platform.people.audit import audit_change
from openpss.platform.people.cards import CardMode, format_card, get_card_mode, parse_card
from openpss.platform.people.credentials import MAX_CARDS, new_card
from openpss.platform.people.models import Card, Person
from openpss.platform.people.schemas import ImportError_, PersonCreate
from openpss.platform.people.service import build_person
from openpss.platform.security.audit import Actor
from openpss.platform.xlsx import write_xlsx

logger = logging.getLogger(__name__)
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 100_000
CARD_SEPARATOR = ";"

# (header, PersonCreate field or special key); "*" marks a required column.
COLUMNS: list[tuple[str, str]] = [
    ("User ID*", "user_id"),
    ("Name*", "name"),
    ("Department", "department"),
    ("User Type", "user_type"),
    ("Valid From", "valid_from"),
    ("Valid To", "valid_to"),
    ("Times Used", "times_used"),
    ("Card No.", "cards"),
    ("Gender", "gender"),
    ("Title", "title"),
    ("Date of Birth", "date_of_birth"),
    ("Tel", "tel"),
    ("Email", "email"),
    ("Mailing Address", "mailing_address"),
    ("Administrator", "administrator"),
    ("Remark", "remark"),
    ("ID Type", "id_type"),
    ("ID No.", "id_number"),
    ("Company", "company"),
    ("Occupation", "occupation"),
    ("Employment Date", "employment_date"),
    ("Termination Date", "termination_date"),
]
HEADERS = [h for h, _ in COLUMNS]
FIELD_OF = {h.rstrip("*").lower(): f for h, f in COLUMNS}


def template_xlsx(mode: CardMode) -> bytes:
    """The import template: the header row plus one example row."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Persons"
    sheet.append(HEADERS)
    example = "0A1B2C3D" if mode is CardMode.hex else "169552957"
    sheet.append(["1001", "Jane Doe", "", "general", None, None, None, example])
    sheet.append([])
    sheet.append(["# Department: a path like 'Company/Sales/North', empty for the company."])
    sheet.append([f"# Card No.: {mode.value} numbers separated by ';'. Dates: YYYY-MM-DD."])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _row_values(header: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in zip(header, row, strict=False):
        field = FIELD_OF.get(name)
        value = _cell(raw)
        if field and value is not None:
            values[field] = value
    return values


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    for key in ("user_id", "name", "tel", "id_number"):
        if isinstance(values.get(key), int | float):
            values[key] = str(int(values[key]))
    if isinstance(values.get("date_of_birth"), dt.datetime):
        values["date_of_birth"] = values["date_of_birth"].date()
    if isinstance(values.get("administrator"), str):
        values["administrator"] = values["administrator"].lower() in ("yes", "true", "1", "y")
    return values


def _pydantic_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(x) for x in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


class _Importer:
    """Validates rows one by one, remembering what earlier rows of the file claim."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.mode = get_card_mode(session)
        self.departments = dict(self._paths())
        self.user_ids: dict[str, int] = {}
        self.cards: dict[str, int] = {}
        self.persons: list[tuple[Person, list[str]]] = []

    def _paths(self) -> Iterator[tuple[str, int]]:
        """Full paths ('company/sales') and paths below the company ('sales')."""
        for dept_id, path in org.department_paths(session=self.session).items():
            yield path.lower(), dept_id
            _, _, below_root = path.partition("/")
            if below_root:
                yield below_root.lower(), dept_id

    def check(self, row_number: int, values: dict[str, Any]) -> str | None:
        """Validate one row; the reason when it is bad."""
        try:
            department = values.pop("department", None)
            cards = str(values.pop("cards", "") or "")
            if department is not None:
                values["department_id"] = self._department(str(department))
            data = PersonCreate.model_validate(_coerce(values))
            numbers = self._cards(row_number, cards)
            self._user_id(row_number, data.user_id)
            person = build_person(session=self.session, data=data)
        except ValidationError as exc:
            return _pydantic_reason(exc)
        except DomainError as exc:
            return str(exc)
        self.persons.append((person, numbers))
        return None

    def _department(self, path: str) -> int:
        key = path.strip("/").lower()
        if key not in self.departments:
            raise Invalid(f"department {path!r} does not exist (use a path like Company/Sales)")
        return self.departments[key]

    def _user_id(self, row_number: int, user_id: str) -> None:
        if user_id in self.user_ids:
            raise Invalid(f"user ID {user_id!r} also appears in row {self.user_ids[user_id]}")
        self.user_ids[user_id] = row_number

    def _cards(self, row_number: int, text: str) -> list[str]:
        numbers = [parse_card(t, self.mode) for t in text.split(CARD_SEPARATOR) if t.strip()]
        if len(numbers) > MAX_CARDS:
            raise Invalid(f"at most {MAX_CARDS} cards per person")
        for number in numbers:
            shown = format_card(number, self.mode)
            if number in self.cards:
                raise Invalid(f"card {shown} also appears in row {self.cards[number]}")
            self.cards[number] = row_number
        return numbers

    def clashes_with_database(self) -> list[ImportError_]:
        """Rows whose user ID or card is already taken in the database."""
        errors = []
        taken_ids = self._existing(Person.user_id, list(self.user_ids))
        for user_id in taken_ids:
            reason = f"user ID {user_id!r} already exists"
            errors.append(ImportError_(row=self.user_ids[user_id], reason=reason))
        for number in self._existing(Card.number, list(self.cards)):
            reason = f"card {format_card(number, self.mode)} is already issued"
            errors.append(ImportError_(row=self.cards[number], reason=reason))
        return errors

    def _existing(self, column: Any, values: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            found.update(self.session.scalars(select(column).where(column.in_(chunk))))
        return found


def _open_rows(data: bytes) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Invalid(f"the file is not a readable xlsx workbook ({exc})") from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    first = next(rows, None)
    header = [str(c).strip().rstrip("*").lower() if c is not None else "" for c in first or ()]
    missing = [h for h in ("user id", "name") if h not in header]
    if missing:
        raise Invalid(
            f"row 1 must be the template's header row; missing column(s): {', '.join(missing)}"
        )
    return header, rows


def import_persons(
    *, session: Session, data: bytes, actor: Actor | None = None, filename: str = ""
) -> tuple[int, list[ImportError_]]:
    """Import persons from xlsx; (imported, errors) and nothing written if any row is bad."""
    header, rows = _open_rows(data)
    importer = _Importer(session)
    errors: list[ImportError_] = []
    for row_number, row in enumerate(rows, start=2):
        values = _row_values(header, row)
        if not values or str(values.get("user_id", "")).startswith("#"):
            continue  # blank or comment row
        if row_number - 1 > MAX_IMPORT_ROWS:
            raise Invalid(f"the file has more than {MAX_IMPORT_ROWS} rows")
        reason = importer.check(row_number, values)
        if reason:
            errors.append(ImportError_(row=row_number, reason=reason))
    errors += importer.clashes_with_database()
    if errors:
        return 0, sorted(errors, key=lambda e: e.row)
    if not importer.persons:
        raise Invalid("the file holds no person rows")
    for person, numbers in importer.persons:
        person.cards = [new_card(n) for n in numbers]
        session.add(person)
    session.flush()
    imported = len(importer.persons)
    audit_change(session, actor, "person.import", file=filename, imported=imported)
    return imported, []


def _export_row(person: Person, paths: dict[int, str], mode: CardMode) -> list[Any]:
    cards = CARD_SEPARATOR.join(format_card(c.number, mode) for c in person.cards)
    values: dict[str, Any] = {
        field: getattr(person, field, None) for _, field in COLUMNS if hasattr(Person, field)
    }
    values["department"] = paths.get(person.department_id, "")
    values["cards"] = cards
    values["administrator"] = "yes" if person.administrator else "no"
    for key, value in values.items():
        if isinstance(value, dt.datetime):
            values[key] = value.replace(tzinfo=None)  # xlsx has no time zones; values are UTC
    return [values.get(field) for _, field in COLUMNS]


def export_persons(
    *, session: Session, person_ids: Iterable[int] | None = None, actor: Actor | None = None
) -> IO[bytes]:
    """An xlsx file of the given persons (all when None), written in streaming mode."""
    wanted = None if person_ids is None else list(person_ids)
    count = "all" if wanted is None else len(wanted)
    audit_change(session, actor, "person.export", persons=count)
    mode = get_card_mode(session)
    paths = org.department_paths(session=session)
    query = select(Person).options(selectinload(Person.cards)).order_by(Person.user_id)
    if wanted is not None:
        query = query.where(Person.id.in_(wanted))
    persons = session.scalars(query.execution_options(yield_per=1000))
    rows = (_export_row(person, paths, mode) for person in persons)
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    write_xlsx(output, "Persons", rows, HEADERS)
    output.seek(0)
    return output
