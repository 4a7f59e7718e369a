"""The SIP hot path runs compiled (setup.py, mypyc), and never from stale sources.

A compiled module shadows its ``.py``: edit the source without rebuilding and Python would go
on running the old code. These tests fail then, with what to do.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path

import pytest

import openpss

SRC = Path(openpss.__file__).resolve().parents[1]
MANIFEST = SRC / "openpss/protocols/sip/compiled.txt"
HOT_PATH = [
    "errors",
    "headers",
    "message",
    "uri",
    "tokens",
    "digest",
    "sdp",
    "transaction",
    "transport",
    "registrar",
    "dialog",
    "b2bua",
    "server",
]
PURE = os.environ.get("OPENPSS_PURE") == "1"


def _compiled(name: str) -> bool:
    module = importlib.import_module(f"openpss.protocols.sip.{name}")
    return Path(module.__file__ or "").suffix == ".so"


@pytest.mark.skipif(PURE, reason="installed with OPENPSS_PURE=1: nothing is compiled")
def test_the_sip_hot_path_is_compiled() -> None:
    missing = [name for name in HOT_PATH if not _compiled(name)]
    assert not missing, f"not compiled: {missing}; run `make install` (mypyc, setup.py)"


def test_every_compiled_module_was_built_from_its_current_source() -> None:
    compiled = [name for name in HOT_PATH if _compiled(name)]
    if PURE:
        assert not compiled, f"OPENPSS_PURE=1 but {compiled} are compiled; reinstall"
        return
    assert not compiled or MANIFEST.exists(), f"{MANIFEST} is missing; run `make install`"
    built = {}
    for line in (MANIFEST.read_text() if compiled else "").splitlines():
        digest, _, path = line.partition("  ")
        built[Path(path).stem] = digest
    stale = [
        name
        for name in compiled
        if built.get(name)
        != hashlib.sha256((SRC / f"openpss/protocols/sip/{name}.py").read_bytes()).hexdigest()
    ]
    assert not stale, f"{stale} changed since they were compiled; run `make install`"
