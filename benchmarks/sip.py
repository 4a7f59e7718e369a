"""SIP server throughput: our registrar + B2BUA against Kamailio, same SIPp scenarios, one run.

Prints, side by side with the ratio ours/Kamailio:
- REGISTER with digest per second (401 challenge + authenticated REGISTER = one "call" of
  SIPp), 0 failures required; Kamailio: pv_www_authenticate, in-memory usrloc, children=2,
  1 GB shared memory (with its default 64 MB, tm runs out of transactions near 800 calls/s);
- calls per second, INVITE-180-200-ACK-BYE (SIPp UAC -> server -> SIPp UAS), through our
  B2BUA vs through Kamailio as a record-routing stateful proxy (neither challenges INVITEs):
  the highest rate held for ``--seconds`` with 0 failures (doubling from 50 calls/s until a
  rung fails, then three bisection steps inside the failing octave);
- p99 (and median) INVITE-to-180 at 100 calls/s; SIPp reports whole milliseconds, so 0 means
  under 1 ms.
Targets (issue 10): REGISTER >= 0.5x Kamailio, calls >= 0.3x. Our server runs as
``openpss sip server --uvloop`` in its own process; everything on 127.0.0.1, stops by itself.
Needs sipp (sip-tester) and kamailio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import socket
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.peers.kamailio_support import Kamailio  # noqa: E402
from tests.peers.sip_support import SIPP_SCENARIOS  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

ACCOUNTS = {"8001": "bench-caller", "9901": "bench-callee"}


@dataclass
class SippRun:
    """The figures of one SIPp run."""

    rate: float
    successful: int
    failed: int
    rtts_ms: list[float]


async def sipp(
    scenario: str,
    port: int,
    *,
    cwd: Path,
    calls: int,
    rate: float,
    limit: int,
    service: str = "8001",
    local_port: int | None = None,
    extra: tuple[str, ...] = (),
) -> SippRun:
    """Run SIPp to completion and parse its final statistics."""
    command = [
        shutil.which("sipp") or "sipp",
        "-sf", str(SIPP_SCENARIOS / scenario),
        "-s", service, "-au", service, "-ap", ACCOUNTS[service],
        "-i", "127.0.0.1", "-p", str(local_port or free_port()),
        "-m", str(calls), "-r", str(rate), "-l", str(limit),
        "-nostdin", "-timeout", "300s", *extra,
        f"127.0.0.1:{port}",
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    text = out.decode(errors="replace")
    rate_match = re.findall(r"Call Rate\s*\|[^|]*\|\s*([\d.]+) cps", text)
    ok = re.findall(r"Successful call\s*\|[^|]*\|\s*(\d+)", text)
    failed = re.findall(r"Failed call\s*\|[^|]*\|\s*(\d+)", text)
    rtts = []
    for path in cwd.glob("*_rtt.csv"):
        for line in path.read_text().splitlines()[1:]:
            fields = line.split(";")
            if len(fields) >= 2 and fields[1].replace(".", "").isdigit():
                rtts.append(float(fields[1]))
        path.unlink()
    if not rate_match:
        raise RuntimeError(f"sipp printed no statistics: {text[-1500:]}")
    return SippRun(float(rate_match[-1]), int(ok[-1]), int(failed[-1]), rtts)


class Target:
    """A SIP server under test: ours or Kamailio."""

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.port = port


async def start_ours(directory: Path) -> tuple[Target, asyncio.subprocess.Process]:
    """``openpss sip server --uvloop`` in its own process."""
    accounts = directory / "accounts.csv"
    accounts.write_text("username,password\n" + "".join(f"{u},{p}\n" for u, p in ACCOUNTS.items()))
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "openpss.cli", "sip", "server",
        "--listen", f"127.0.0.1:{port}", "--accounts", str(accounts), "--realm", "VDP",
        "--uvloop", "--no-authenticate-calls",
        stdout=(directory / "ours.log").open("wb"), stderr=asyncio.subprocess.STDOUT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    await asyncio.sleep(2.0)
    if process.returncode is not None:
        raise RuntimeError((directory / "ours.log").read_text())
    return Target("openpss", port), process


async def registers(target: Target, directory: Path, count: int, limit: int) -> SippRun:
    """REGISTER with digest as fast as 0 failures allow (halving the concurrency on failures)."""
    run = SippRun(0, 0, 0, [])
    for _ in range(4):
        run = await sipp("register.xml", target.port, cwd=directory, calls=count,
                         rate=100_000, limit=limit)  # fmt: skip
        if run.failed == 0:
            return run
        limit = max(1, limit // 2)
    return run


async def calls(target: Target, directory: Path, count: int, limit: int, rate: float) -> SippRun:
    """Calls through the server to a SIPp UAS registered as 9901."""
    uas_port = free_port()
    # drop the previous rung's UAS binding first, or the server would fork to a dead port too
    await sipp("unregister.xml", target.port, cwd=directory, calls=1, rate=1, limit=1,
               service="9901")  # fmt: skip
    await sipp("register.xml", target.port, cwd=directory, calls=1, rate=1, limit=1,
               service="9901", local_port=uas_port)  # fmt: skip
    uas = await asyncio.create_subprocess_exec(
        shutil.which("sipp") or "sipp", "-sf", str(SIPP_SCENARIOS / "uas_answer.xml"),
        "-i", "127.0.0.1", "-p", str(uas_port), "-nostdin", "-timeout", "300s",
        cwd=directory, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await wait_bound(uas_port)  # Kamailio blocklists a destination that answered ICMP
    try:
        return await sipp(
            "uac_call_noauth.xml", target.port, cwd=directory, calls=count, rate=rate,
            limit=limit, extra=("-key", "callee", "9901", "-trace_rtt", "-rtt_freq", "1"),
        )  # fmt: skip
    finally:
        uas.terminate()
        with contextlib.suppress(ProcessLookupError):
            await uas.wait()


async def wait_bound(port: int, timeout: float = 30.0) -> None:
    """Wait until something (the SIPp UAS) holds UDP ``port`` on loopback."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"SIPp UAS did not bind port {port}")


def p99(values: list[float]) -> float:
    """99th percentile (0 when empty)."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[98]


async def call_ladder(
    target: Target, directory: Path, seconds: float, limit: int
) -> tuple[float, int]:
    """Highest call rate held with 0 failures: (calls/s, lowest failing rate tried)."""

    async def holds(rate: float) -> float | None:
        run = await calls(target, directory, int(rate * seconds), limit, rate)
        return None if run.failed or run.rate < 0.9 * rate else run.rate

    best, rate = 0.0, 50
    while rate <= 6400:
        held = await holds(rate)
        if held is None:
            break
        best = held
        rate *= 2
    low, high = rate // 2, rate  # then narrow the failing octave down to an eighth of it
    for _ in range(3) if rate > 50 else ():
        middle = (low + high) // 2
        held = await holds(middle)
        if held is None:
            high = middle
        else:
            best, low = held, middle
    return best, high


async def measure(target: Target, directory: Path, args: argparse.Namespace) -> dict[str, float]:
    """Every figure for one target."""
    work = directory / f"sipp-{target.name}"
    work.mkdir()
    register = await registers(target, work, args.registers, args.limit)
    paced = await calls(target, work, args.paced_calls, 200, 100)
    best, failed_at = await call_ladder(target, work, args.seconds, args.limit)
    return {
        "REGISTER/s (digest)": register.rate,
        "REGISTER failures": register.failed,
        "calls/s, 0 failures": best,
        "lowest failing rate (cps)": failed_at,
        "p99 INVITE->180 ms @100 cps": p99(paced.rtts_ms),
        "median INVITE->180 ms @100 cps": statistics.median(paced.rtts_ms or [0.0]),
        "failures @100 cps": paced.failed,
    }


async def main_async(args: argparse.Namespace) -> None:
    """Run both targets and print the table."""
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        kamailio = Kamailio(directory / "kamailio", port=free_port(), accounts=ACCOUNTS,
                            children=2, auth_calls=False, shm_mb=1024)  # fmt: skip
        await kamailio.start()
        ours, process = await start_ours(directory)
        try:
            theirs = await measure(Target("kamailio", kamailio.port), directory, args)
            mine = await measure(ours, directory, args)
        finally:
            process.terminate()
            await process.wait()
            await kamailio.stop()
    print(f"{'figure':32} {'openpss':>12} {'kamailio':>12} {'ratio':>8}")
    for key in mine:
        ratio = f"{mine[key] / theirs[key]:8.2f}" if theirs[key] else f"{'-':>8}"
        print(f"{key:32} {mine[key]:12.1f} {theirs[key]:12.1f} {ratio}")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registers", type=int, default=20_000, help="REGISTERs per target")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each call rung")
    parser.add_argument("--paced-calls", type=int, default=1_000, help="calls at 100 cps")
    parser.add_argument("--limit", type=int, default=100, help="SIPp concurrent calls")
    parser.add_argument("--quick", action="store_true", help="2,000 REGISTERs, 2 s rungs")
    args = parser.parse_args()
    if args.quick:
        args.registers, args.seconds, args.paced_calls = 2_000, 2.0, 300
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
