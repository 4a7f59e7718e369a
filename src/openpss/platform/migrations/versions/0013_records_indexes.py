"""records: (device, time, id) indexes so a search by device pages newest first without sorting

benchmarks/records.py at 10,000,000 call records on SQLite: the device's latest page took
250 ms (the device_id index, then a sort of the device's 100,000 rows); with these indexes the
database reads the page straight off the index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 13:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_access_record_device_time", "access_record", ["device_id", "event_time", "id"]),
    ("ix_call_record_device_time", "call_record", ["device_id", "start_time", "id"]),
    ("ix_alarm_record_device_time", "alarm_record", ["device_id", "event_time", "id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
