"""Build step: compile the SIP stack's hot path with mypyc (C extensions from our typed code).

The modules are listed in pyproject.toml (``[tool.openpss.mypyc]``). Compiled, they take ~40 %
less CPU per message (README, SIP section). The sources stay the reference:
``OPENPSS_PURE=1 pip install -e .`` installs without compiling. setup.py records the hash of
every source it compiled (``compiled.txt``) so ``tests/unit/test_compiled_build.py`` can fail
on a compiled module older than its source (rebuild with ``make install``).
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from pathlib import Path

from setuptools import setup

COMPILED: list[str] = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["openpss"]["mypyc"][
    "modules"
]
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
