"""A throwaway PostgreSQL cluster from the Debian binaries, started and removed by the tests.

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

INSTALL_HINT = "apt-get install postgresql"


def find_bindir() -> Path | None:
    """Directory of initdb/pg_ctl from the newest installed Debian PostgreSQL."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"


def _runner() -> tuple[list[str], str, int | None, int | None]:
    """Command prefix, user name, uid and gid to run the server with."""
    if os.geteuid() != 0:
        return [], pwd.getpwuid(os.geteuid()).pw_name, None, None
    entry = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], "postgres", entry.pw_uid, entry.pw_gid


@contextmanager
def throwaway_cluster(bindir: Path) -> Iterator[Cluster]:
    """initdb a cluster in a temporary directory, start it on a free loopback port, remove it."""
    prefix, user, uid, gid = _runner()
    root = Path(tempfile.mkdtemp(prefix="openpss-pg-"))
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    data = root / "data"
    port = free_port()
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            user,
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {root} -F -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield Cluster("127.0.0.1", port, user)
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
