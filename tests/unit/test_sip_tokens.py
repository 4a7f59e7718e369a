"""Random tokens: hex of the asked length, never repeated, and a forked child draws its own."""

from __future__ import annotations

import os

from openpss.protocols.sip.tokens import random_hex
from openpss.protocols.sip.transaction import new_branch, new_tag


def test_tokens_are_hex_of_the_asked_length_and_do_not_repeat() -> None:
    tokens = [random_hex(8) for _ in range(20_000)]  # spans several 4 KiB blocks
    assert all(len(token) == 16 and int(token, 16) >= 0 for token in tokens)
    assert len(set(tokens)) == len(tokens)
    assert len(random_hex(5000)) == 10_000  # larger than a block
    assert new_branch().startswith("z9hG4bK") and len(new_tag()) == 12


def test_a_forked_child_does_not_repeat_the_parents_tokens() -> None:
    random_hex(8)  # the parent holds a partly used block
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, random_hex(8).encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    os.close(read)
    assert status == 0 and len(from_child) == 16
    assert from_child != random_hex(8)  # without the reset both would take the same slice
