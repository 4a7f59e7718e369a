"""records tables

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openpss.platform.db  # noqa: F401  (custom column types)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("record_no", sa.Integer(), nullable=True),
        sa.Column("event_time", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("card_no", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("attendance_state", sa.String(length=32), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_access_record_device_id_device"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_record")),
        sa.UniqueConstraint("device_id", "record_no", name=op.f("uq_access_record_device_id")),
    )
    with op.batch_alter_table("access_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_record_device_id"), ["device_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_record_event_time"), ["event_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_access_record_user_id"), ["user_id"], unique=False)

    op.create_table(
        "alarm_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("event_time", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("alarm_type", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("received_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_alarm_record_device_id_device"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_record")),
    )
    with op.batch_alter_table("alarm_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alarm_record_device_id"), ["device_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alarm_record_event_time"), ["event_time"], unique=False
        )

    op.create_table(
        "call_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("start_time", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_time", openpss.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("callee", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("received_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_call_record_device_id_device"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_record")),
    )
    with op.batch_alter_table("call_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_record_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_record_start_time"), ["start_time"], unique=False)


def downgrade() -> None:
    op.drop_table("call_record")
    op.drop_table("alarm_record")
    op.drop_table("access_record")
