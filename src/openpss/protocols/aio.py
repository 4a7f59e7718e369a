"""asyncio helpers every endpoint shares.

``within(awaitable, seconds)`` is what ``asyncio.wait_for`` should be on Python 3.11: await
with a deadline, raise ``TimeoutError`` when it passes. ``asyncio.wait_for`` on 3.11 loses a
cancellation when the awaited operation finishes in the same loop iteration as the cancel
(CPython gh-86296, fixed in 3.12 by rebuilding it on ``asyncio.timeout``): the cancelled task
carries on as if nothing happened, and a shutdown that awaits it waits forever. We met it as a
hung MQTT bridge: its publisher was cancelled just as the broker acknowledged a message, went
back to waiting for the next event, and never ended. ``within`` awaits in the caller's own task
under ``asyncio.timeout``, so a cancel always arrives. The project bans ``asyncio.wait_for``
(ruff TID251) in favour of this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float | None) -> T:
    """Await with a deadline (None: none); ``TimeoutError`` when it passes.

    A coroutine runs in the calling task (no extra task); a future or task is cancelled when
    the deadline passes or the caller is cancelled, as with ``asyncio.wait_for``.
    """
    async with asyncio.timeout(seconds):
        return await awaitable


def deliver_lost_cancel() -> None:
    """Raise ``CancelledError`` if this task was cancelled and the cancel went missing.

    For the one place a third-party library's ``asyncio.wait_for`` cannot be avoided (aiomqtt's
    connect): call it right after, so a shutdown that raced the broker's answer still ends.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
