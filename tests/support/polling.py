"""One way to wait in a test: poll a check with a bounded deadline, never a bare sleep or loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Generous: the CI machine is shared and slow; a passing check returns at once anyway.
DEFAULT_TIMEOUT = 20.0


def eventually(
    check: Callable[[], T | None],
    *,
    what: str = "condition",
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.05,
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """Call `check` until it returns something truthy and return that; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    last_error: Exception | None = None
    while True:
        try:
            last = check()
            if last:
                return last
        except retry_on as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what} "
                f"(last value: {last!r}, last error: {last_error!r})"
            )
        time.sleep(interval)


async def eventually_async(
    check: Callable[[], T | None],
    *,
    what: str = "condition",
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.02,
) -> T:
    """`eventually` for a running event loop: sleeps with asyncio so the loop keeps serving."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} ({last!r})")
        await asyncio.sleep(interval)
