"""User sets (UserSetSave/UserSetLoad/UserSetDefault) kept in the device's data directory."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# A saved setting: (feature name, selector values it applies to) -> value.
Settings = dict[tuple[str, tuple[str | int, ...]], Any]
FILE_NAME = "camera-usersets.json"


class UserSetStore:
    """Saved user sets and the power-up choice; in memory only when data_dir is None."""

    def __init__(self, data_dir: Path | None) -> None:
        self.path = data_dir / FILE_NAME if data_dir is not None else None
        self.sets: dict[str, Settings] = {}
        self.default = "Default"
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            document = json.loads(self.path.read_text())
            self.default = str(document.get("default", "Default"))
            for name, items in document.get("sets", {}).items():
                self.sets[name] = {(f, tuple(key)): value for f, key, value in items}
        except (OSError, ValueError, TypeError) as exc:
            # A damaged file must not keep the camera from starting: factory settings instead.
            logger.warning("ignoring unreadable user sets %s: %s", self.path, exc)
            self.sets, self.default = {}, "Default"

    def _save(self) -> None:
        if self.path is None:
            return
        document = {
            "default": self.default,
            "sets": {
                name: [[f, list(key), value] for (f, key), value in sorted(items.items())]
                for name, items in self.sets.items()
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=1))
        os.replace(temporary, self.path)

    def save(self, name: str, settings: Settings) -> None:
        """Store the settings as user set `name` and write the file."""
        self.sets[name] = dict(settings)
        self._save()

    def get(self, name: str) -> Settings | None:
        """The saved settings of user set `name`, or None if it was never saved."""
        return self.sets.get(name)

    def set_default(self, name: str) -> None:
        """Choose the user set loaded at power-up and write the file."""
        self.default = name
        self._save()
