"""attendance tables

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openpss.platform.db  # noqa: F401  (custom column types)

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attendance_holiday",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_holiday")),
        sa.UniqueConstraint("day", name=op.f("uq_attendance_holiday_day")),
    )
    op.create_table(
        "attendance_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=False),
        sa.Column("work_start", sa.Integer(), nullable=False),
        sa.Column("work_end", sa.Integer(), nullable=False),
        sa.Column("record_as_minutes", sa.Integer(), nullable=True),
        sa.Column("checkin_start", sa.Integer(), nullable=False),
        sa.Column("checkout_end", sa.Integer(), nullable=False),
        sa.Column("first_last_only", sa.Boolean(), nullable=False),
        sa.Column("late_permitted_minutes", sa.Integer(), nullable=False),
        sa.Column("late_absence_minutes", sa.Integer(), nullable=True),
        sa.Column("early_permitted_minutes", sa.Integer(), nullable=False),
        sa.Column("required_minutes", sa.Integer(), nullable=False),
        sa.Column("day_change_minute", sa.Integer(), nullable=False),
        sa.Column("overtime_beyond_required", sa.Boolean(), nullable=False),
        sa.Column("rests", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_period")),
        sa.UniqueConstraint("name", name=op.f("uq_attendance_period_name")),
    )
    op.create_table(
        "attendance_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("holiday_country", sa.String(length=8), nullable=False),
        sa.Column("holiday_subdivision", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_settings")),
    )
    op.create_table(
        "attendance_shift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("cycle_mode", sa.String(length=8), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("arrangement", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_shift")),
        sa.UniqueConstraint("name", name=op.f("uq_attendance_shift_name")),
    )
    op.create_table(
        "attendance_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "(person_id IS NULL) <> (department_id IS NULL)",
            name=op.f("ck_attendance_assignment_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_attendance_assignment_department_id_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_attendance_assignment_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"],
            ["attendance_shift.id"],
            name=op.f("fk_attendance_assignment_shift_id_attendance_shift"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_assignment")),
    )
    with op.batch_alter_table("attendance_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attendance_assignment_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_attendance_assignment_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_attendance_assignment_shift_id"), ["shift_id"], unique=False
        )

    op.create_table(
        "attendance_exception",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_attendance_exception_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_exception")),
    )
    with op.batch_alter_table("attendance_exception", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attendance_exception_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "attendance_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_minutes", sa.Integer(), nullable=False),
        sa.Column("work_minutes", sa.Integer(), nullable=False),
        sa.Column("overtime_minutes", sa.Integer(), nullable=False),
        sa.Column("late_count", sa.Integer(), nullable=False),
        sa.Column("late_minutes", sa.Integer(), nullable=False),
        sa.Column("early_count", sa.Integer(), nullable=False),
        sa.Column("early_minutes", sa.Integer(), nullable=False),
        sa.Column("absence_days", sa.Float(), nullable=False),
        sa.Column("punches", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("computed_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_attendance_result_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_result")),
        sa.UniqueConstraint("person_id", "day", name=op.f("uq_attendance_result_person_id")),
    )
    with op.batch_alter_table("attendance_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_result_day"), ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_attendance_result_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("attendance_result")
    op.drop_table("attendance_exception")
    op.drop_table("attendance_assignment")
    op.drop_table("attendance_shift")
    op.drop_table("attendance_settings")
    op.drop_table("attendance_period")
    op.drop_table("attendance_holiday")
