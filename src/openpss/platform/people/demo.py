"""Demo data for `openpss demo`: a company, a department tree and ~50 persons with cards."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.people import org
from openpss.platform.people.cards import canonical
from openpss.platform.people.credentials import new_card
from openpss.platform.people.models import Department, Person
from openpss.platform.people.schemas import CompanyUpdate
from openpss.platform.people.service import default_validity

logger = logging.getLogger(__name__)

COMPANY = CompanyUpdate(
    name="Northwind Security Ltd",
    email="office@northwind.example",
    telephone="+44 20 7946 0000",
    website="https://northwind.example",
    postal_code="EC1A 1BB",
    address="1 Example Street, London",
)
# (department, superior department or None for the company)
DEPARTMENTS = [
    ("Administration", None),
    ("Engineering", None),
    ("Software", "Engineering"),
    ("Hardware", "Engineering"),
    ("Sales", None),
    ("Facilities", None),
]
FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amelia",
    "Oliver",
    "Ava",
    "Elijah",
    "Sophia",
    "Lucas",
    "Mia",
    "Mateo",
    "Isabella",
    "Levi",
]
LAST = [
    "Smith",
    "Garcia",
    "Chen",
    "Müller",
    "Rossi",
    "Nowak",
    "Kim",
    "Silva",
    "Dubois",
    "Okafor",
    "Tanaka",
    "Novak",
    "Ivanova",
]
PERSONS = 50
FIRST_USER_ID = 1001
FIRST_CARD = 0x3A7B0000


def _departments(session: Session) -> list[Department]:
    """The demo departments, reusing any that already exist (e.g. after a partial seed)."""
    root = org.get_root(session=session)
    made: dict[str, Department] = {}
    for name, parent in DEPARTMENTS:
        superior = made[parent] if parent else root
        existing = session.scalars(
            select(Department).where(Department.parent_id == superior.id, Department.name == name)
        ).first()
        made[name] = existing or org.add_department(
            session=session, name=name, parent_id=superior.id
        )
    return [made[name] for name, _ in DEPARTMENTS]


def seed_demo_data(*, session: Session) -> None:
    """Create the demo company, departments and persons; does nothing if persons exist."""
    if session.scalars(select(Person.id).limit(1)).first() is not None:
        logger.info("persons exist; demo personnel not seeded")
        return
    org.update_company(session=session, data=COMPANY)
    departments = _departments(session)
    start, end = default_validity()
    start -= dt.timedelta(days=2 * 366)  # hired two years ago: the seeded past months are due
    for i in range(PERSONS):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 5) % len(LAST)]}"
        person = Person(
            user_id=str(FIRST_USER_ID + i),
            name=name,
            department_id=departments[i % len(departments)].id,
            valid_from=start,
            valid_to=end,
            email=f"{name.split()[0].lower()}.{FIRST_USER_ID + i}@northwind.example",
        )
        person.cards = [new_card(canonical(FIRST_CARD + 17 * i))]
        session.add(person)
    session.flush()
    logger.info("seeded demo personnel: %d departments, %d persons", len(departments), PERSONS)
