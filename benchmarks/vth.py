"""Indoor monitor figures: a door station (its own SIP server) calls room 101 with two VTHs
(101#0, 101#1) N times; per call: call key -> both ringing, answer -> first decoded video
frame at the VTH, unlock -> unlock record at the VTO. Everything in-process on loopback.

    PYTHONPATH=src python benchmarks/vth.py --calls 10
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from openpss.devices.vth.runtime import Ports as VthPorts
from openpss.devices.vth.runtime import VthRuntime, VthThread
from openpss.devices.vth.store import open_monitor
from openpss.devices.vto.entities import Room, SystemType
from openpss.devices.vto.facade import Module, ModuleType
from openpss.devices.vto.runtime import Ports, VtoRuntime, VtoThread
from openpss.devices.vto.sip import attach_sip
from openpss.devices.vto.store import open_station

PASSWORD = "Bench1234"


def wait(predicate: Callable[[], object], timeout: float = 60) -> float:
    """Seconds until ``predicate`` holds (polled every 2 ms)."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("benchmark step did not complete")
        time.sleep(0.002)
    return time.perf_counter() - start


def timed(action: Callable[[], object], predicate: Callable[[], object]) -> float:
    """Seconds from starting ``action`` until ``predicate`` holds."""
    start = time.perf_counter()
    action()
    wait(predicate)
    return time.perf_counter() - start


def main() -> None:
    """Run the calls and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vth-bench-"))
    station, store = open_station(root / "vto")
    station.initialize(PASSWORD)
    station.set_system_type(SystemType.tcpip)
    for number in ("101#0", "101#1"):
        station.add_room(Room(number))
    station.set_facade([Module(ModuleType.camera, ["101"]).to_json()])
    vto = VtoThread(
        VtoRuntime(
            station,
            Ports(http=0, dhip=0, rtsp=0, sip=0),
            extra_services=[attach_sip],
            fps=15,
            stream_sizes={0: (640, 360), 1: (640, 360)},
        )
    ).start()
    wait(lambda: vto.runtime.sip_server is not None)
    vths = []
    for room in ("101#0", "101#1"):
        unit, _ = open_monitor(root / room.replace("#", "-"))
        unit.set_admin_password(PASSWORD)
        unit.set_sip_server(
            "127.0.0.1", vto.runtime.sip_server.port, realm="VDP", password="123456"
        )
        unit.set_room(room)
        vths.append((unit, VthThread(VthRuntime(unit, VthPorts(http=0, sip=0))).start()))
    wait(lambda: all(unit.registered for unit, _ in vths))
    master, thread = vths[0]
    ring, frame, unlock = [], [], []
    for _ in range(args.calls):
        unlocks = station.records["unlock"]
        before = len(unlocks)
        ring.append(
            timed(
                lambda: vto.call(lambda: station.press_button(1)),
                lambda: all(u.call_state.value == "ringing" for u, _ in vths),
            )
        )
        frame.append(timed(lambda: thread.call(master.answer), lambda: master.rtp["video_frames"]))
        unlock.append(
            timed(
                lambda: thread.call(master.unlock),
                lambda: len(unlocks) > before,  # noqa: B023 (waited for within this iteration)
            )
        )
        thread.call(master.hang_up)
        wait(lambda: station.call_state.value == "idle")
        time.sleep(0.2)
    for name, values in (("key -> both ringing", ring), ("answer -> first frame", frame),
                         ("unlock -> VTO record", unlock)):  # fmt: skip
        ms = sorted(v * 1000 for v in values)
        print(f"{name:24s} n={len(ms)} p50 {statistics.median(ms):7.1f} ms  max {ms[-1]:7.1f} ms")
    for _, running in vths:
        running.stop()
    vto.stop()
    store.close()


if __name__ == "__main__":
    main()
