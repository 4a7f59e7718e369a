"""The feature tree of a connected camera, read from its GenICam node map (genicam package)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from genicam import genapi

logger = logging.getLogger(__name__)

LEVELS = ("Beginner", "Expert", "Guru")  # GenICam visibility, the manual's three user levels
_KINDS = {
    2: "integer",
    3: "boolean",
    4: "command",
    5: "float",
    6: "string",
    7: "register",
    8: "category",
    9: "enumeration",
}  # genapi EInterfaceType


@dataclass
class FeatureNode:
    """One feature (or category) as the viewer shows it; `locked` = greyed out (not writable)."""

    name: str
    display_name: str
    kind: str
    visibility: str
    description: str = ""
    value: str = ""
    readable: bool = False
    writable: bool = False
    options: list[str] = field(default_factory=list)
    minimum: str = ""
    maximum: str = ""
    increment: str = ""
    unit: str = ""
    children: list[FeatureNode] = field(default_factory=list)

    @property
    def locked(self) -> bool:
        """True when the current mode does not allow changing the feature."""
        return self.kind != "category" and not self.writable


def level_index(level: str) -> int:
    """0 Beginner, 1 Expert, 2 Guru; raises ValueError for another name."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise ValueError(
            f"unknown visibility level {level!r}; use Beginner, Expert or Guru"
        ) from None


def feature_tree(node_map: Any, level: str) -> list[FeatureNode]:
    """Categories under Root with the features visible at `level` (empty categories dropped)."""
    limit = level_index(level)
    root = node_map.get_node("Root")
    return [c for c in (_walk(child, limit) for child in root.features) if c is not None]


def _walk(node: Any, limit: int) -> FeatureNode | None:
    visibility = int(node.node.visibility)
    if visibility > limit:  # Invisible (3) is never shown
        return None
    kind = _KINDS.get(int(node.node.principal_interface_type), "value")
    item = FeatureNode(
        name=node.node.name,
        display_name=node.node.display_name or node.node.name,
        kind=kind,
        visibility=LEVELS[min(visibility, 2)],
        description=node.node.description or node.node.tooltip or "",
    )
    if kind == "category":
        item.children = [c for c in (_walk(f, limit) for f in node.features) if c is not None]
        return item if item.children else None
    _fill_value(node, item)
    return item


def _fill_value(node: Any, item: FeatureNode) -> None:
    item.readable = bool(genapi.is_readable(node))
    item.writable = bool(genapi.is_writable(node))
    try:
        if item.readable and item.kind not in ("command", "register"):
            item.value = node.to_string()
        if item.kind == "enumeration":
            item.options = [str(s) for s in node.symbolics]
        if item.kind in ("integer", "float") and item.readable:
            item.minimum, item.maximum = str(node.min), str(node.max)
            if item.kind == "integer":
                item.increment = str(node.inc)
            item.unit = str(getattr(node, "unit", "") or "")
    except Exception as exc:  # genicam raises its own exception types for unavailable nodes
        logger.debug("feature %s unreadable: %s", item.name, exc)
        item.readable = False


def find(tree: list[FeatureNode], name: str) -> FeatureNode | None:
    """The feature called `name` anywhere in a tree."""
    for node in tree:
        if node.name == name:
            return node
        found = find(node.children, name)
        if found is not None:
            return found
    return None
