"""The SIP hot path runs as installed (compiled by setup.py, or OPENPSS_PURE=1), never stale.

A compiled module shadows its ``.py``: edit the source without rebuilding and Python would go
on running the old code. This test fails then, with what to do.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tomllib
from pathlib import Path

import openpss

ROOT = Path(openpss.__file__).resolve().parents[2]
MANIFEST = ROOT / "src/openpss/protocols/sip/compiled.txt"
SOURCES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["openpss"][
    "mypyc"
]["modules"]


def _is_compiled(source: str) -> bool:
    name = source.removeprefix("src/").removesuffix(".py").replace("/", ".")
    return Path(importlib.import_module(name).__file__ or "").suffix == ".so"


def test_every_listed_module_runs_as_installed_and_from_its_current_source() -> None:
    compiled = [source for source in SOURCES if _is_compiled(source)]
    if os.environ.get("OPENPSS_PURE") == "1":
        assert not compiled, f"OPENPSS_PURE=1 but {compiled} are compiled; reinstall"
        return
    assert compiled == SOURCES, (
        f"not compiled: {sorted(set(SOURCES) - set(compiled))}; run `make install`"
    )
    assert MANIFEST.exists(), f"{MANIFEST} is missing; run `make install`"
    built = {}  # source -> sha256 it was compiled from
    for line in MANIFEST.read_text().splitlines():
        digest, _, source = line.partition("  ")
        built[source] = digest
    stale = [
        source
        for source in SOURCES
        if built.get(source) != hashlib.sha256((ROOT / source).read_bytes()).hexdigest()
    ]
    assert not stale, f"{stale} changed since they were compiled; run `make install`"
