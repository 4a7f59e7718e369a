"""Finding real third-party programs: skip locally with an install hint, fail in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def peers_required() -> bool:
    """CI sets OPENPSS_REQUIRE_PEERS=1: a missing peer is then a failure, not a skip."""
    return os.environ.get("OPENPSS_REQUIRE_PEERS") == "1"


def require_program(name: str, install_hint: str) -> str:
    """The path of program `name`; skip (locally) or fail (CI) when it is missing."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed; install it with: {install_hint}"
    if peers_required():
        pytest.fail(message)
    pytest.skip(message)
