"""vision tables

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openpss.platform.db  # noqa: F401  (custom column types)

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vision_camera",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("manufacturer", sa.String(length=32), nullable=False),
        sa.Column("model_name", sa.String(length=32), nullable=False),
        sa.Column("serial", sa.String(length=16), nullable=False),
        sa.Column("user_name", sa.String(length=16), nullable=False),
        sa.Column("created_at", openpss.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vision_camera")),
        sa.UniqueConstraint("address", "port", name=op.f("uq_vision_camera_address")),
        sa.UniqueConstraint("name", name=op.f("uq_vision_camera_name")),
    )


def downgrade() -> None:
    op.drop_table("vision_camera")
