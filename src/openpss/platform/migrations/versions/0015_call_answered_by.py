"""records: who answered a call (a console user name or the answering device's number)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_record") as batch:
        batch.add_column(sa.Column("answered_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_record") as batch:
        batch.drop_column("answered_by")
