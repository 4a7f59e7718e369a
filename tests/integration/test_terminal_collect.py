"""Enrolment with the terminal as the collector (issue 8.15, manual 1.4.1 "Device"): the next
card presented is read, a finger presented three times becomes a template; meanwhile those
presentations are not punches."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from openpss.protocols.dahua_http.client import DahuaClient, DahuaRequestError
from tests.support.dahua_device import ADMIN_PASSWORD, RunningDevice, running_device


@pytest.fixture
def device(tmp_path: Path) -> Iterator[RunningDevice]:
    with running_device(tmp_path) as running:
        yield running


async def _when_waiting(device: RunningDevice) -> None:
    """Wait (bounded) until the device has a capture pending."""
    for _ in range(400):
        if device.front.collector.pending is not None:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the capture never started")


async def test_capture_card_reads_the_next_card_and_records_no_punch(
    device: RunningDevice,
) -> None:
    async with DahuaClient(device.url, "admin", ADMIN_PASSWORD) as client:
        capture = asyncio.create_task(client.capture_card(wait=20))
        await _when_waiting(device)
        answer = await asyncio.to_thread(device.present, card="c0ffee42")
        assert answer["captured"] is True and answer["message"] == "card read for enrolment"
        assert await capture == "C0FFEE42"
        assert (await client.find_records(after_rec_no=0)).records == []  # not a punch
        after = await asyncio.to_thread(device.present, card="c0ffee42")
        assert "captured" not in after  # back to normal: an unknown card is refused
        assert after["accepted"] is False


async def test_capture_fingerprint_needs_the_same_finger_three_times(
    device: RunningDevice,
) -> None:
    finger, other = b"\x01\x02" * 200, b"\x09\x08" * 200
    async with DahuaClient(device.url, "admin", ADMIN_PASSWORD) as client:
        capture = asyncio.create_task(client.capture_fingerprint(wait=20))
        await _when_waiting(device)
        messages = []
        for sample in (finger, other, finger, finger, finger):
            encoded = base64.b64encode(sample).decode()
            answer = await asyncio.to_thread(device.present, fingerprint=encoded)
            messages.append(answer["message"])
        assert messages == [
            "fingerprint captured 1 of 3",
            "a different finger: present the same finger three times (start again)",
            "fingerprint captured 1 of 3",
            "fingerprint captured 2 of 3",
            "fingerprint enrolled",
        ]
        assert await capture == finger


async def test_capture_times_out_with_a_clear_error_and_refuses_bad_timeouts(
    device: RunningDevice,
) -> None:
    async with DahuaClient(device.url, "admin", ADMIN_PASSWORD) as client:
        with pytest.raises(DahuaRequestError, match="no card at the device within 1 s"):
            await client.capture_card(wait=1)
        with pytest.raises(DahuaRequestError, match="timeout must be 1-60 seconds, not 0"):
            await client.capture_card(wait=0)
        first = asyncio.create_task(client.capture_card(wait=5))
        await _when_waiting(device)
        with pytest.raises(DahuaRequestError, match="already capturing a card"):
            await client.capture_fingerprint(wait=5)
        await asyncio.to_thread(device.present, card="AB12")
        assert await first == "AB12"
