"""Test modules never import one another: what two of them share lives in tests/support/
(or a package's helpers/conftest), so running, moving or deleting one test file cannot
break another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _is_test_module(dotted: str) -> bool:
    return dotted.rsplit(".", 1)[-1].startswith("test_")


def imported_test_modules(path: Path, tests: Path = TESTS) -> list[str]:
    """The test modules that `path` imports, absolute (``tests.x.test_y``) or relative."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = list(path.relative_to(tests.parent).parent.parts)
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            if _is_test_module(base):
                found.append(base)
            found += [f"{base}.{a.name}" for a in node.names if _is_test_module(a.name)]
    return found


def test_no_test_module_imports_another() -> None:
    modules = sorted(TESTS.rglob("test_*.py"))
    assert len(modules) > 100  # the walk found the suite
    offenders = {
        str(path.relative_to(TESTS.parent)): imported
        for path in modules
        if (imported := imported_test_modules(path))
    }
    assert offenders == {}, "move what they share into tests/support/"


def test_the_check_sees_each_import_form(tmp_path: Path) -> None:
    package = tmp_path / "tests" / "integration"
    package.mkdir(parents=True)
    sample = package / "test_sample.py"
    sample.write_text(
        "import tests.unit.test_a\n"
        "from tests.integration import test_b\n"
        "from tests.integration.test_c import helper\n"
        "from . import test_d\n"
        "from .test_e import other\n"
        "from tests.support.polling import eventually\n"
        "def f():\n    from tests.peers.test_f import late\n"
    )
    assert sorted(imported_test_modules(sample, tmp_path / "tests")) == [
        "tests.integration.test_b",
        "tests.integration.test_c",
        "tests.integration.test_d",
        "tests.integration.test_e",
        "tests.peers.test_f",
        "tests.unit.test_a",
    ]


# A local poll loop is what tests/support/polling.py replaces; these were its names.
POLL_LOOP_NAMES = frozenset({"until", "_until", "wait_until", "_wait_until"})


def local_poll_helpers(path: Path) -> list[str]:
    """The module-level functions of `path` named like a home-made poll loop."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in POLL_LOOP_NAMES
    ]


def test_no_test_module_defines_its_own_poll_loop() -> None:
    modules = sorted(TESTS.rglob("test_*.py"))
    offenders = {
        str(path.relative_to(TESTS.parent)): helpers
        for path in modules
        if (helpers := local_poll_helpers(path))
    }
    assert offenders == {}, "poll with tests.support.polling.eventually / eventually_async"


def test_the_poll_loop_check_sees_sync_and_async_helpers(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "def until(p, what): ...\n"
        "async def _until(p, what): ...\n"
        "def _await_records(factory): ...\n"
        "class C:\n    def until(self): ...\n"
    )
    assert local_poll_helpers(sample) == ["until", "_until"]
