"""Company info and the department tree (manual 1.1, 1.2)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openpss.platform.errors import Conflict, Invalid, NotFound
from openpss.platform.people.audit import audit_change
from openpss.platform.people.images import MAX_LOGO_BYTES, check_image
from openpss.platform.people.models import Company, Department, Person
from openpss.platform.people.schemas import CompanyUpdate, DepartmentRead
from openpss.platform.security.audit import Actor

logger = logging.getLogger(__name__)
DEFAULT_COMPANY = "Default Company"


def get_company(*, session: Session) -> Company:
    """The company row, created (with its root department) on first use."""
    company = session.scalars(select(Company).order_by(Company.id).limit(1)).first()
    if company is None:
        company = Company(name=DEFAULT_COMPANY)
        session.add(company)
        session.flush()
    get_root(session=session)
    return company


def get_root(*, session: Session) -> Department:
    """The root department (the company), created on first use."""
    root = session.scalars(
        select(Department).where(Department.parent_id.is_(None)).order_by(Department.id).limit(1)
    ).first()
    if root is None:
        company = session.scalars(select(Company).limit(1)).first()
        root = Department(name=company.name if company else DEFAULT_COMPANY, parent_id=None)
        session.add(root)
        session.flush()
    return root


def update_company(*, session: Session, data: CompanyUpdate, actor: Actor | None = None) -> Company:
    """Save the company info; the root department takes the company name."""
    company = get_company(session=session)
    for key, value in data.model_dump().items():
        setattr(company, key, value)
    get_root(session=session).name = data.name
    session.flush()
    audit_change(session, actor, "company.update", target="company", **data.model_dump())
    return company


def set_logo(*, session: Session, data: bytes, actor: Actor | None = None) -> Company:
    """Store the company logo after checking it is a real JPEG or PNG image."""
    image = check_image(data, what="company logo", max_bytes=MAX_LOGO_BYTES)
    company = get_company(session=session)
    company.logo = image.data
    company.logo_content_type = image.content_type
    session.flush()
    audit_change(session, actor, "company.logo", target="company", bytes=len(image.data))
    return company


def get_department(*, session: Session, department_id: int) -> Department:
    """One department, or NotFound; on a fresh platform the root (the company) exists first."""
    department = session.get(Department, department_id)
    if department is None and get_root(session=session).id == department_id:
        department = session.get(Department, department_id)
    if department is None:
        raise NotFound(f"department {department_id} does not exist")
    return department


def _check_sibling_name(session: Session, parent_id: int, name: str, own_id: int | None) -> None:
    query = select(Department.id).where(
        Department.parent_id == parent_id, func.lower(Department.name) == name.lower()
    )
    clash = session.scalars(query).first()
    if clash is not None and clash != own_id:
        raise Conflict(f"the superior department already has a sub-department named {name!r}")


def _audit_department(
    session: Session, actor: Actor | None, action: str, department: Department
) -> None:
    target = f"department:{department.id}"
    name, parent_id = department.name, department.parent_id
    audit_change(session, actor, action, target=target, name=name, parent_id=parent_id)


def add_department(
    *, session: Session, name: str, parent_id: int, actor: Actor | None = None
) -> Department:
    """Add a sub-department under a superior department."""
    get_department(session=session, department_id=parent_id)
    _check_sibling_name(session, parent_id, name, None)
    department = Department(name=name, parent_id=parent_id)
    session.add(department)
    session.flush()
    _audit_department(session, actor, "department.create", department)
    return department


def rename_department(
    *, session: Session, department_id: int, name: str, actor: Actor | None = None
) -> Department:
    """Rename a department; renaming the root renames the company too."""
    department = get_department(session=session, department_id=department_id)
    if department.parent_id is None:
        get_company(session=session).name = name
    else:
        _check_sibling_name(session, department.parent_id, name, department.id)
    department.name = name
    session.flush()
    _audit_department(session, actor, "department.rename", department)
    return department


def delete_department(*, session: Session, department_id: int, actor: Actor | None = None) -> str:
    """Delete an empty department; refuse the root and departments holding persons or children."""
    department = get_department(session=session, department_id=department_id)
    if department.parent_id is None:
        raise Invalid("the root department is the company and cannot be deleted")
    children = session.scalar(
        select(func.count()).select_from(Department).where(Department.parent_id == department_id)
    )
    if children:
        raise Conflict(
            f"department {department.name!r} has {children} sub-department(s); "
            "delete or move them first"
        )
    persons = session.scalar(
        select(func.count()).select_from(Person).where(Person.department_id == department_id)
    )
    if persons:
        raise Conflict(
            f"department {department.name!r} still holds {persons} person(s); "
            "move them to another department first"
        )
    name = department.name
    _audit_department(session, actor, "department.delete", department)
    session.delete(department)
    session.flush()
    return name


def all_departments(*, session: Session) -> list[Department]:
    """Every department, ordered by name (the tree is small: one query)."""
    get_root(session=session)
    return list(session.scalars(select(Department).order_by(Department.name, Department.id)))


def subtree_ids(*, session: Session, department_id: int) -> list[int]:
    """The department and all its descendants."""
    get_department(session=session, department_id=department_id)
    by_parent: dict[int | None, list[int]] = {}
    for dept_id, parent_id in session.execute(select(Department.id, Department.parent_id)):
        by_parent.setdefault(parent_id, []).append(dept_id)
    result, stack = [], [department_id]
    while stack:
        current = stack.pop()
        result.append(current)
        stack.extend(by_parent.get(current, []))
    return result


def department_tree(*, session: Session) -> DepartmentRead:
    """The whole tree from the root, with the number of persons directly in each department."""
    departments = all_departments(session=session)
    rows = session.execute(
        select(Person.department_id, func.count()).group_by(Person.department_id)
    )
    counts: dict[int, int] = {dept_id: count for dept_id, count in rows}
    nodes = {
        d.id: DepartmentRead(
            id=d.id, name=d.name, parent_id=d.parent_id, person_count=counts.get(d.id, 0)
        )
        for d in departments
    }
    root = None
    for node in nodes.values():
        if node.parent_id is None:
            root = root or node
        elif node.parent_id in nodes:
            nodes[node.parent_id].children.append(node)
    assert root is not None
    return root


def department_paths(*, session: Session) -> dict[int, str]:
    """'Company/Dept/Sub' path of every department (for xlsx import and export)."""
    departments = all_departments(session=session)
    by_id = {d.id: d for d in departments}
    paths: dict[int, str] = {}

    def path(dept: Department) -> str:
        if dept.id not in paths:
            parent = by_id.get(dept.parent_id) if dept.parent_id is not None else None
            paths[dept.id] = f"{path(parent)}/{dept.name}" if parent else dept.name
        return paths[dept.id]

    for dept in departments:
        path(dept)
    return paths
