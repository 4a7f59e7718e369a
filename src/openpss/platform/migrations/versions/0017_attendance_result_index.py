"""attendance: drop the person_id index of attendance_result (the (person_id, day) unique index
already serves every lookup by person)

benchmarks/attendance.py writes a month of 100,000 employees (3,100,000 rows) in one go; each
index of the table is written for every row, and this one duplicated the leading column of the
unique index.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 14:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attendance_result") as batch_op:
        batch_op.drop_index("ix_attendance_result_person_id")


def downgrade() -> None:
    with op.batch_alter_table("attendance_result") as batch_op:
        batch_op.create_index("ix_attendance_result_person_id", ["person_id"], unique=False)
