"""The project's documents stand alone (issue 8.12 / 9.9): a clone has no folder beside it, and
every relative link in the Markdown files points at a file of the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [ROOT / name for name in out.splitlines() if (ROOT / name).is_file()]


def test_no_file_points_outside_the_repository_at_the_shared_folder() -> None:
    needle = "../" + "shared"  # split so that this file does not match itself
    offenders = [
        str(path.relative_to(ROOT))
        for path in _tracked_files()
        if path.suffix in {".md", ".py", ".html", ".txt", ".toml", ".cfg", ""}
        and needle in path.read_text(errors="replace")
    ]
    assert offenders == []


def test_markdown_links_point_at_files_that_exist() -> None:
    broken = []
    for doc in (p for p in _tracked_files() if p.suffix == ".md"):
        for target in LINK.findall(doc.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_architecture_is_in_the_repository_and_names_the_real_domains() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    platform = ROOT / "src" / "openpss" / "platform"
    domains = [p.name for p in platform.iterdir() if (p / "__init__.py").exists()]
    missing = [d for d in domains if f"  {d}/" not in text and d != "migrations"]
    assert missing == []
    assert "crypto.py" in text and "commands/" in text
