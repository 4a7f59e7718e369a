"""Run a camera scenario inside a private network namespace (Aravis broadcasts on every interface).

The scenario is Python code run with the test interpreter under `unshare -n` (`-rn` when not
root), loopback up; it prints one JSON document on its last stdout line, which the test reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.support.peers import require_program

PRELUDE = textwrap.dedent(
    """
    import json, re, subprocess, time
    from openpss.devices.camera.model import CameraModel
    from openpss.devices.camera.server import BackgroundCamera, CameraFrontEnd

    def start_camera(tmp, width=640, height=480, lost_ratio=0.0, color=False):
        model = CameraModel(data_dir=tmp, width=width, height=height, color=color)
        front = CameraFrontEnd(model, host="127.0.0.1", lost_ratio=lost_ratio,
                               broadcast="127.255.255.255", data_dir=tmp)
        return BackgroundCamera(front)

    def run(*cmd, timeout=60):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return done.stdout + done.stderr

    def counters(text):
        return {k: int(v) for k, v in re.findall(r"^(n_[a-z_]+)\\s*=\\s*(\\d+)", text, re.M)}
    """
)

# root may create a network namespace directly; other users need a user namespace too.
NETNS_OPTION = "-n" if os.geteuid() == 0 else "-rn"


def require_aravis() -> None:
    """Skip (locally) or fail (CI) without the Aravis tools and unshare."""
    hint = "apt-get install aravis-tools aravis-tools-cli"
    for program in ("arv-tool-0.8", "arv-camera-test-0.8", "arv-fake-gv-camera-0.8"):
        require_program(program, hint)
    require_program("unshare", "apt-get install util-linux")


def in_netns(code: str, timeout: float = 180) -> Any:
    """Run PRELUDE + code in a fresh network namespace; return its last line parsed as JSON."""
    script = PRELUDE + "\nimport tempfile, pathlib\ntmp = pathlib.Path(tempfile.mkdtemp())\n"
    script += textwrap.dedent(code)
    done = subprocess.run(
        [
            "unshare",
            NETNS_OPTION,
            "sh",
            "-c",
            'ip link set lo up && exec "$0" "$@"',
            sys.executable,
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise AssertionError(
            f"scenario failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}"
        )
    return json.loads(lines[-1])
