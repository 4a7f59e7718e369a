"""What a console tab receives from ConsoleCalls, and a door's PCMU audio offer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def offer(port: int) -> bytes:
    """The door's offer: PCMU audio only (the video path is the browser test's)."""
    lines = [
        "v=0", "o=door 1 1 IN IP4 127.0.0.1", "s=door", "c=IN IP4 127.0.0.1", "t=0 0",
        f"m=audio {port} RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=sendrecv",
    ]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class Console:
    """What one console tab received."""

    username: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def kinds(self) -> list[str]:
        return [m["type"] for m in self.messages]
