"""permissions tables

Revision ID: 0004
Revises: 0003
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openpss.platform.db  # noqa: F401  (custom column types)

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ALL_DAY = [[["00:00", "24:00"]] for _ in range(7)]


def upgrade() -> None:
    op.create_table(
        "time_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("remark", sa.String(length=255), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("created_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_template")),
        sa.UniqueConstraint("name", name=op.f("uq_time_template_name")),
    )
    op.create_table(
        "permission_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("remark", sa.String(length=255), nullable=False),
        sa.Column("time_template_id", sa.Integer(), nullable=False),
        sa.Column("verification_methods", sa.JSON(), nullable=False),
        sa.Column("created_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["time_template_id"],
            ["time_template.id"],
            name=op.f("fk_permission_group_time_template_id_time_template"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_group")),
        sa.UniqueConstraint("name", name=op.f("uq_permission_group_name")),
    )
    with op.batch_alter_table("permission_group", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permission_group_time_template_id"), ["time_template_id"], unique=False
        )

    op.create_table(
        "time_template_holiday",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["time_template.id"],
            name=op.f("fk_time_template_holiday_template_id_time_template"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_template_holiday")),
        sa.UniqueConstraint(
            "template_id", "day", name=op.f("uq_time_template_holiday_template_id")
        ),
    )
    with op.batch_alter_table("time_template_holiday", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_time_template_holiday_template_id"), ["template_id"], unique=False
        )

    op.create_table(
        "authorization_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column(
            "action",
            sa.Enum("push", "remove", name="taskaction", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "success", "failed", name="taskstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("failure_reason", sa.String(length=255), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_authorization_task_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_authorization_task_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorization_task")),
        sa.UniqueConstraint("device_id", "user_id", name=op.f("uq_authorization_task_device_id")),
    )
    with op.batch_alter_table("authorization_task", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authorization_task_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_authorization_task_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_authorization_task_status"), ["status"], unique=False)

    op.create_table(
        "permission_group_department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_permission_group_department_department_id_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["permission_group.id"],
            name=op.f("fk_permission_group_department_group_id_permission_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_group_department")),
        sa.UniqueConstraint(
            "group_id", "department_id", name=op.f("uq_permission_group_department_group_id")
        ),
    )
    with op.batch_alter_table("permission_group_department", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permission_group_department_department_id"),
            ["department_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_permission_group_department_group_id"), ["group_id"], unique=False
        )

    op.create_table(
        "permission_group_door",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("door", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_permission_group_door_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["permission_group.id"],
            name=op.f("fk_permission_group_door_group_id_permission_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_group_door")),
        sa.UniqueConstraint(
            "group_id", "device_id", "door", name=op.f("uq_permission_group_door_group_id")
        ),
    )
    with op.batch_alter_table("permission_group_door", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permission_group_door_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_permission_group_door_group_id"), ["group_id"], unique=False
        )

    op.create_table(
        "permission_group_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["permission_group.id"],
            name=op.f("fk_permission_group_person_group_id_permission_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_permission_group_person_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_group_person")),
        sa.UniqueConstraint(
            "group_id", "person_id", name=op.f("uq_permission_group_person_group_id")
        ),
    )
    with op.batch_alter_table("permission_group_person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permission_group_person_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_permission_group_person_person_id"), ["person_id"], unique=False
        )
    # The default "All day" time template every new permission group can use.
    template = sa.table(
        "time_template",
        sa.column("name", sa.String),
        sa.column("remark", sa.String),
        sa.column("weekly", sa.JSON),
        sa.column("created_at", openpss.platform.db.UTCDateTime(timezone=True)),
    )
    op.bulk_insert(
        template,
        [
            {
                "name": "All day",
                "remark": "default: every day 00:00-24:00",
                "weekly": ALL_DAY,
                "created_at": dt.datetime.now(dt.UTC),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("permission_group_person")
    op.drop_table("permission_group_door")
    op.drop_table("permission_group_department")
    op.drop_table("authorization_task")
    op.drop_table("time_template_holiday")
    op.drop_table("permission_group")
    op.drop_table("time_template")
