"""access revocation and refused punches: access_record.reason, alarm_record.record_no

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason", sa.String(length=255), nullable=False, server_default="")
        )
    with op.batch_alter_table("alarm_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record_no", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_alarm_record_device_id"), ["device_id", "record_no"]
        )


def downgrade() -> None:
    with op.batch_alter_table("alarm_record", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_alarm_record_device_id"), type_="unique")
        batch_op.drop_column("record_no")
    with op.batch_alter_table("access_record", schema=None) as batch_op:
        batch_op.drop_column("reason")
