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

from openpyxl import Workbook
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
from openpss.platform.people.service import build_person, check_rules
from openpss.platform.security.audit import Actor
from openpss.platform.uploads import MAX_UPLOAD
from openpss.platform.xlsx import write_xlsx
from openpss.spreadsheets import read_rows

logger = logging.getLogger(__name__)
MAX_IMPORT_BYTES = MAX_UPLOAD
MAX_IMPORT_ROWS = 100_000
MAX_COLUMNS = 64  # the template has 22; extra columns beyond 64 are never read
CARD_SEPARATOR = ";"
# A card's state follows its number in the Card No. cell: "0A1B2C3D (duress, frozen)", so that
# an export imported again keeps duress and frozen cards as they were.
CARD_STATES = ("duress", "frozen")
CardSpec = tuple[str, str, bool]  # canonical number, kind (main/duress), frozen

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
    sheet.append(
        [
            f"# Card No.: {mode.value} numbers separated by ';', each optionally followed by "
            "(duress), (frozen) or (duress, frozen). Dates: YYYY-MM-DD."
        ]
    )
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

    def __init__(self, session: Session, update_existing: bool = False) -> None:
        self.session = session
        self.update_existing = update_existing
        self.mode = get_card_mode(session)
        self.departments = dict(self._paths())
        self.user_ids: dict[str, int] = {}
        self.cards: dict[str, int] = {}
        self.persons: list[tuple[Person, list[CardSpec], set[str]]] = []

    def _paths(self) -> Iterator[tuple[str, int]]:
        """Full paths ('company/sales') and paths below the company ('sales')."""
        for dept_id, path in org.department_paths(session=self.session).items():
            yield path.lower(), dept_id
            _, _, below_root = path.partition("/")
            if below_root:
                yield below_root.lower(), dept_id

    def check(self, row_number: int, values: dict[str, Any]) -> str | None:
        """Validate one row; the reason when it is bad."""
        fields = set(values)
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
        self.persons.append((person, numbers, fields))
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

    def _cards(self, row_number: int, text: str) -> list[CardSpec]:
        specs = [self._card(t) for t in text.split(CARD_SEPARATOR) if t.strip()]
        if len(specs) > MAX_CARDS:
            raise Invalid(f"at most {MAX_CARDS} cards per person")
        for number, _, _ in specs:
            shown = format_card(number, self.mode)
            if number in self.cards:
                raise Invalid(f"card {shown} also appears in row {self.cards[number]}")
            self.cards[number] = row_number
        return specs

    def _card(self, token: str) -> CardSpec:
        """One card of the Card No. cell: a number, optionally followed by (duress, frozen)."""
        number, _, rest = token.partition("(")
        states = {s.strip().lower() for s in rest.rstrip().rstrip(")").split(",") if s.strip()}
        unknown = sorted(states - set(CARD_STATES))
        if unknown:
            raise Invalid(
                f"card state {', '.join(unknown)!r} is unknown; write the number, then "
                "(duress), (frozen) or (duress, frozen)"
            )
        kind = "duress" if "duress" in states else "main"
        return parse_card(number, self.mode), kind, "frozen" in states

    def clashes_with_database(self) -> list[ImportError_]:
        """Rows whose user ID or card is already taken in the database (with update_existing,
        a row's own user ID and the cards that person already holds are no clash)."""
        errors = []
        row_user = {row: user_id for user_id, row in self.user_ids.items()}
        if not self.update_existing:
            for user_id in self._existing(Person.user_id, list(self.user_ids)):
                reason = f"user ID {user_id!r} already exists"
                errors.append(ImportError_(row=self.user_ids[user_id], reason=reason))
        for number, holder in self._card_holders(list(self.cards)).items():
            row = self.cards[number]
            if self.update_existing and holder == row_user.get(row):
                continue
            reason = f"card {format_card(number, self.mode)} is already issued to user {holder}"
            errors.append(ImportError_(row=row, reason=reason))
        return errors

    def _card_holders(self, numbers: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(numbers), 500):
            query = select(Card.number, Person.user_id).join(Person, Card.person_id == Person.id)
            query = query.where(Card.number.in_(numbers[start : start + 500]))
            found.update({number: user_id for number, user_id in self.session.execute(query)})
        return found

    def _existing(self, column: Any, values: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            found.update(self.session.scalars(select(column).where(column.in_(chunk))))
        return found


def _open_rows(data: bytes) -> tuple[list[str], Iterator[tuple[int, tuple[Any, ...]]]]:
    """Header names and the numbered non-blank rows after it (``SpreadsheetError`` if refused)."""
    # MAX_IMPORT_ROWS person rows plus the header; blank rows count against it.
    numbered = read_rows(
        data, max_rows=MAX_IMPORT_ROWS + 1, max_columns=MAX_COLUMNS, max_bytes=MAX_IMPORT_BYTES
    )
    rows = iter(numbered)
    first = numbered[0][1] if numbered and numbered[0][0] == 1 else None
    if first is not None:
        next(rows)
    header = [str(c).strip().rstrip("*").lower() if c is not None else "" for c in first or ()]
    missing = [h for h in ("user id", "name") if h not in header]
    if missing:
        raise Invalid(
            f"row 1 must be the template's header row; missing column(s): {', '.join(missing)}"
        )
    return header, rows


def import_persons(
    *,
    session: Session,
    data: bytes,
    update_existing: bool = False,
    actor: Actor | None = None,
    filename: str = "",
) -> tuple[int, list[ImportError_]]:
    """Import persons from xlsx; (imported, errors) and nothing written if any row is bad.

    With `update_existing`, a row whose user ID exists updates that person (the columns the
    file has; Card No. replaces the cards) instead of being refused (manual 1.6: import an
    export to change persons). Audited (file name and count) when `actor` is given."""
    header, rows = _open_rows(data)
    importer = _Importer(session, update_existing)
    errors: list[ImportError_] = []
    for row_number, row in rows:
        values = _row_values(header, row)
        if not values or str(values.get("user_id", "")).startswith("#"):
            continue  # blank or comment row
        reason = importer.check(row_number, values)
        if reason:
            errors.append(ImportError_(row=row_number, reason=reason))
    errors += importer.clashes_with_database()
    if errors:
        return 0, sorted(errors, key=lambda e: e.row)
    if not importer.persons:
        raise Invalid("the file holds no person rows")
    present = _existing_persons(session, [p.user_id for p, _, _ in importer.persons])
    for person, specs, fields in importer.persons:
        target = present.get(person.user_id)
        if target is None:
            person.cards = [_new_card(spec) for spec in specs]
            session.add(person)
        else:
            _update_person(target, person, fields, specs)
    session.flush()
    imported = len(importer.persons)
    audit_change(session, actor, "person.import", file=filename, imported=imported)
    return imported, []


def _new_card(spec: CardSpec) -> Card:
    number, kind, frozen = spec
    card = new_card(number, kind)
    card.frozen = frozen
    return card


def _existing_persons(session: Session, user_ids: list[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for start in range(0, len(user_ids), 500):
        query = select(Person).options(selectinload(Person.cards))
        query = query.where(Person.user_id.in_(user_ids[start : start + 500]))
        found.update({p.user_id: p for p in session.scalars(query)})
    return found


def _update_person(target: Person, row: Person, fields: set[str], specs: list[CardSpec]) -> None:
    """Copy the columns the file has from the validated row onto the existing person."""
    for name in fields - {"user_id", "cards"}:
        attribute = "department_id" if name == "department" else name
        setattr(target, attribute, getattr(row, attribute))
    check_rules(target)
    if "cards" in fields:
        kept = {card.number: card for card in target.cards}
        cards = []
        for spec in specs:
            card = kept.get(spec[0]) or _new_card(spec)
            card.kind, card.frozen = spec[1], spec[2]
            cards.append(card)
        target.cards = cards


def _card_cell(card: Card, mode: CardMode) -> str:
    states = [
        s for s, on in zip(CARD_STATES, (card.kind == "duress", card.frozen), strict=True) if on
    ]
    shown = format_card(card.number, mode)
    return f"{shown} ({', '.join(states)})" if states else shown


def _export_row(person: Person, paths: dict[int, str], mode: CardMode) -> list[Any]:
    cards = CARD_SEPARATOR.join(_card_cell(c, mode) for c in person.cards)
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
