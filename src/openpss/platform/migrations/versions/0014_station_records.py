"""station records: a door station's alarm log number and its pull watermark

alarm_record.alarm_no (unique per device) is the RecNo of a door station's alarm log, which
numbers independently of its access records (record_no keeps the access record behind a duress
card's alarm); device.last_alarm_no is the highest alarm-log number pulled.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarm_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alarm_no", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_alarm_record_device_alarm_no", ["device_id", "alarm_no"]
        )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_alarm_no", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_column("last_alarm_no")
    with op.batch_alter_table("alarm_record", schema=None) as batch_op:
        batch_op.drop_constraint("uq_alarm_record_device_alarm_no", type_="unique")
        batch_op.drop_column("alarm_no")
