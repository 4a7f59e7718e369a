"""The shared server defences: rate-limited logging, connection caps, bounded tables, reads."""

from __future__ import annotations

import asyncio
import logging

import pytest

from openpss.protocols.guards import (
    BoundedTable,
    ConnectionLimit,
    RateLimitedLog,
    RateLimitFilter,
    ReadLimitError,
    read_exactly,
    read_until,
)


def test_rate_limited_log_emits_once_per_interval_and_counts_suppressed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = RateLimitedLog(logging.getLogger("guards-test"), interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="guards-test"):
        assert log.warning("bad", "bad packet from %s", "a")
        assert not log.warning("bad", "bad packet from %s", "b")
        assert not log.warning("bad", "bad packet from %s", "c")
        assert log.warning("other", "other line")
        now[0] = 10.5
        assert log.warning("bad", "bad packet from %s", "d")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "bad packet from a",
        "other line",
        "bad packet from d (2 similar lines suppressed)",
    ]


def test_connection_limit_caps_total_and_per_peer() -> None:
    limit = ConnectionLimit(3, per_peer=2)
    assert limit.acquire("a") and limit.acquire("a")
    assert not limit.acquire("a")
    assert limit.acquire("b")
    assert not limit.acquire("c")
    limit.release("a")
    assert limit.active == 2
    assert limit.acquire("c")
    limit.release("nobody")
    assert limit.active == 3


def test_bounded_table_keeps_protected_entries_under_a_flood() -> None:
    table: BoundedTable[str, bool] = BoundedTable(4, protect=lambda _k, locked: locked)
    table["admin"] = True
    for i in range(1000):
        table[f"flood{i}"] = False
    assert "admin" in table
    assert len(table) == 4
    assert table.items()[-1] == ("flood999", False)


def test_bounded_table_refuses_new_keys_when_all_are_protected() -> None:
    table: BoundedTable[str, bool] = BoundedTable(2, protect=lambda _k, locked: locked)
    assert table.put("a", True) and table.put("b", True)
    assert not table.put("c", False)
    assert "c" not in table and len(table) == 2
    assert table.put("a", False)


async def test_read_until_enforces_deadline_and_size() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"GET / HTTP/1.1\r\n")
    with pytest.raises(ReadLimitError, match=r"no complete block within 0\.05 s"):
        await read_until(reader, b"\r\n\r\n", limit=100, timeout=0.05)
    reader = asyncio.StreamReader()
    reader.feed_data(b"x" * 50 + b"\r\n\r\n")
    with pytest.raises(ReadLimitError, match="exceeds the limit of 20"):
        await read_until(reader, b"\r\n\r\n", limit=20, timeout=1)
    reader = asyncio.StreamReader()
    reader.feed_data(b"ab\r\n\r\n")
    assert await read_until(reader, b"\r\n\r\n", limit=20, timeout=1) == b"ab\r\n\r\n"


async def test_read_exactly_times_out_on_a_slow_body() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"abc")
    with pytest.raises(ReadLimitError, match=r"10 bytes not received within 0\.05 s"):
        await read_exactly(reader, 10, timeout=0.05)


def test_rate_limit_filter_passes_one_warning_per_message_and_interval() -> None:
    now = [0.0]
    limit = RateLimitFilter(interval=10, clock=lambda: now[0])

    def record(msg: str, level: int = logging.WARNING) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", level, __file__, 1, msg, None, None)

    assert limit.filter(record("Invalid HTTP request received."))
    assert not any(limit.filter(record("Invalid HTTP request received.")) for _ in range(999))
    assert limit.filter(record("Exceeded concurrency limit."))
    assert limit.filter(record("debug lines pass", logging.INFO))
    now[0] = 10.5
    again = record("Invalid HTTP request received.")
    assert limit.filter(again) and "(999 similar lines suppressed)" in again.getMessage()
