"""Helpers for SIP peer tests: free ports, an in-process SipServer, running SIPp scenarios."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from tests.support.peers import require_program
from tests.support.ports import free_port

SIPP_SCENARIOS = Path(__file__).parent.parent / "fixtures" / "sip" / "sipp"


def require_sipp() -> str:
    """The sipp binary (Debian sip-tester)."""
    return require_program("sipp", "apt-get install -y sip-tester")


@dataclass
class SippResult:
    """Exit code and output of one SIPp run."""

    returncode: int
    output: str


async def run_sipp(
    scenario: str,
    server_port: int,
    *,
    service: str,
    password: str = "",
    local_port: int | None = None,
    calls: int = 1,
    extra: tuple[str, ...] = (),
    cwd: Path,
    timeout: int = 30,
) -> SippResult:
    """Run one SIPp scenario file against 127.0.0.1:server_port; bounded by -timeout."""
    command = [
        require_sipp(),
        "-sf",
        str(SIPP_SCENARIOS / scenario),
        "-s",
        service,
        "-i",
        "127.0.0.1",
        "-p",
        str(local_port or free_port()),
        "-m",
        str(calls),
        "-nostdin",
        "-timeout",
        f"{timeout}s",
        "-timeout_error",
        "-trace_err",
        *extra,
        f"127.0.0.1:{server_port}",
    ]
    if password:
        command[1:1] = ["-au", service, "-ap", password]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    errors = "".join(p.read_text(errors="replace") for p in cwd.glob("*_errors.log"))
    return SippResult(
        process.returncode or 0, out.decode(errors="replace")[-3000:] + errors[-3000:]
    )
