"""records: (status, time, id) indexes so a search by call status, access result or alarm type
pages newest first and counts its first matches off an index

benchmarks/records.py at 10,000,000 rows per table on SQLite: a search by result or alarm type
read the time index and tested every row (and counted every match); with these indexes the
page and the bounded count (listing.COUNT_CAP) read only matching index entries.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_access_record_success_time", "access_record", ["success", "event_time", "id"]),
    ("ix_call_record_status_time", "call_record", ["status", "start_time", "id"]),
    ("ix_alarm_record_type_time", "alarm_record", ["alarm_type", "event_time", "id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
