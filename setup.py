"""Build step: compile the SIP stack's hot path with mypyc (C extensions from our typed code).

The SIP server handles every REGISTER, INVITE and in-dialog message in Python; compiled, the
same modules take ~40 % less CPU per message (see README, "SIP performance"). The sources stay
the reference: ``OPENPSS_PURE=1 pip install -e .`` installs without compiling, and every test
runs against whichever build is installed. ``tests/unit/test_compiled_build.py`` fails when a
compiled module is older than its source (rebuild with ``make install``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from setuptools import setup

# Modules compiled together (they call each other natively). ``accounts`` stays interpreted:
# owners subclass its ServerEvents; ``ua`` stays interpreted: user agents are not the hot path.
COMPILED = [
    "src/openpss/protocols/sip/errors.py",
    "src/openpss/protocols/sip/headers.py",
    "src/openpss/protocols/sip/message.py",
    "src/openpss/protocols/sip/uri.py",
    "src/openpss/protocols/sip/tokens.py",
    "src/openpss/protocols/sip/digest.py",
    "src/openpss/protocols/sip/sdp.py",
    "src/openpss/protocols/sip/transaction.py",
    "src/openpss/protocols/sip/transport.py",
    "src/openpss/protocols/sip/registrar.py",
    "src/openpss/protocols/sip/dialog.py",
    "src/openpss/protocols/sip/b2bua.py",
    "src/openpss/protocols/sip/server.py",
]
# What each compiled module was built from, for the staleness test.
MANIFEST = Path("src/openpss/protocols/sip/compiled.txt")


def extensions() -> list[object]:
    if os.environ.get("OPENPSS_PURE") == "1":  # and no earlier build left to shadow the sources
        MANIFEST.unlink(missing_ok=True)
        for built in [*Path("src").glob("*__mypyc*.so"), *MANIFEST.parent.glob("*.so")]:
            built.unlink()
        return []
    from mypyc.build import mypycify

    lines = [f"{hashlib.sha256(Path(p).read_bytes()).hexdigest()}  {p}" for p in COMPILED]
    MANIFEST.write_text("\n".join(lines) + "\n")
    # --config-file= : not the project's mypy settings (its pydantic plugin is not a build need)
    return list(mypycify(["--config-file=", "--ignore-missing-imports", *COMPILED], opt_level="3"))


setup(ext_modules=extensions())
