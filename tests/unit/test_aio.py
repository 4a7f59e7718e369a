"""openpss.protocols.aio: deadlines that never lose a cancel."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from openpss.protocols.aio import deliver_lost_cancel, within


async def test_within_returns_the_result_and_times_out() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert await within(answer(), 5) == 42
    assert await within(answer(), None) == 42
    with pytest.raises(TimeoutError):
        await within(asyncio.sleep(3600), 0.01)


async def test_within_cancels_the_future_it_gave_up_on() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        await within(future, 0.01)
    assert future.cancelled()


async def test_a_cancel_that_meets_the_answer_is_not_lost() -> None:
    """The answer and the cancel land in the same loop iteration: the task still ends.

    This is the race ``asyncio.wait_for`` loses on Python 3.11 (the MQTT bridge's publisher
    went on waiting for events after its shutdown); the waiter below would then loop forever.
    """
    loop = asyncio.get_running_loop()
    rounds = 0

    async def waiter(futures: list[asyncio.Future[int]]) -> None:
        nonlocal rounds
        for future in futures:
            await within(future, 10)
            rounds += 1

    futures = [loop.create_future() for _ in range(2)]
    task = asyncio.create_task(waiter(futures))
    await asyncio.sleep(0)  # the task now waits for the first future

    def answer_and_cancel() -> None:
        futures[0].set_result(1)
        task.cancel()

    loop.call_soon(answer_and_cancel)
    with pytest.raises(asyncio.CancelledError):
        await within(task, 5)  # never the 5 s: the cancel arrives
    assert rounds == 0 and task.cancelled()


async def test_deliver_lost_cancel_raises_only_in_a_cancelled_task() -> None:
    deliver_lost_cancel()  # not cancelled: nothing happens
    reached = asyncio.Event()

    async def swallows_then_checks() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # a library that swallows it
            await asyncio.sleep(3600)
        reached.set()
        deliver_lost_cancel()
        await asyncio.sleep(3600)  # never reached

    task = asyncio.create_task(swallows_then_checks())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(task, 5)
    assert reached.is_set() and task.cancelled()
