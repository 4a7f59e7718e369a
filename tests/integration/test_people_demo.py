"""Demo personnel: a company, a nested department tree and 50 persons with cards, seeded once."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openpss.platform.people import org
from openpss.platform.people.demo import seed_demo_data
from openpss.platform.people.models import Card, Department, Person


def test_seed_demo_data_is_idempotent(session: Session) -> None:
    seed_demo_data(session=session)
    session.commit()
    seed_demo_data(session=session)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Person)) == 50
    assert session.scalar(select(func.count(func.distinct(Card.number)))) == 50
    tree = org.department_tree(session=session)
    assert tree.name == org.get_company(session=session).name == "Northwind Security Ltd"
    engineering = next(d for d in tree.children if d.name == "Engineering")
    assert {d.name for d in engineering.children} == {"Software", "Hardware"}
    user_ids = session.scalars(select(Person.user_id).order_by(Person.user_id)).all()
    assert user_ids[0] == "1001" and user_ids[-1] == "1050"
    assert session.scalar(select(func.count()).select_from(Department)) == 7
