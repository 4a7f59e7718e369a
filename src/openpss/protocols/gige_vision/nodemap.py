"""Helpers over a GenApi NodeMap: feature tree by visibility, text values, feature files."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from genicam.genapi import EAccessMode, EInterfaceType, EVisibility, NodeMap

logger = logging.getLogger(__name__)

LEVELS = {"beginner": EVisibility.Beginner, "expert": EVisibility.Expert, "guru": EVisibility.Guru}
KIND_NAMES = {
    EInterfaceType.intfIInteger: "Integer",
    EInterfaceType.intfIFloat: "Float",
    EInterfaceType.intfIBoolean: "Boolean",
    EInterfaceType.intfIEnumeration: "Enumeration",
    EInterfaceType.intfICommand: "Command",
    EInterfaceType.intfIString: "String",
    EInterfaceType.intfICategory: "Category",
    EInterfaceType.intfIRegister: "Register",
}
ACCESS_NAMES = {
    EAccessMode.RW: "RW",
    EAccessMode.RO: "RO",
    EAccessMode.WO: "WO",
    EAccessMode.NA: "NA",
    EAccessMode.NI: "NI",
}
VALUE_KINDS = (
    EInterfaceType.intfIInteger,
    EInterfaceType.intfIFloat,
    EInterfaceType.intfIBoolean,
    EInterfaceType.intfIEnumeration,
    EInterfaceType.intfIString,
)


@dataclass(frozen=True)
class FeatureLine:
    """One row of the feature tree."""

    depth: int
    name: str
    kind: str
    access: str
    value: str


def level_of(name: str) -> Any:
    """EVisibility for "beginner" / "expert" / "guru" (clear error otherwise)."""
    try:
        return LEVELS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown visibility level {name!r}; use beginner, expert or guru"
        ) from None


def text_value(feature: Any) -> str:
    """The feature's value as text, or why it has none (write-only, not available...)."""
    kind = feature.node.principal_interface_type
    access = feature.node.get_access_mode()
    if kind == EInterfaceType.intfICommand:
        return "(command)"
    if access not in (EAccessMode.RO, EAccessMode.RW):
        return f"({ACCESS_NAMES.get(access, '?')})"
    try:
        return str(feature.to_string())
    except Exception as exc:  # the device refused the read: show it, keep listing
        return f"(error: {exc})"


def walk(node_map: NodeMap, level: str = "beginner", root: str = "Root") -> Iterator[FeatureLine]:
    """Depth-first feature tree from `root`, hiding features above the visibility level."""
    limit = level_of(level)

    def visit(feature: Any, depth: int) -> Iterator[FeatureLine]:
        node = feature.node
        if node.visibility > limit:
            return
        kind = node.principal_interface_type
        access = ACCESS_NAMES.get(node.get_access_mode(), "?")
        if kind == EInterfaceType.intfICategory:
            if depth >= 0:
                yield FeatureLine(depth, node.name, "Category", "", "")
            for child in feature.features:
                yield from visit(child, depth + 1)
            return
        value = text_value(feature) if kind in VALUE_KINDS else ""
        yield FeatureLine(depth, node.name, KIND_NAMES.get(kind, "Node"), access, value)

    yield from visit(node_map.get_node(root), -1)


def save_features(node_map: NodeMap, level: str = "guru") -> str:
    """Feature file text: `Name=value` for every readable and writable feature, in tree order."""
    lines = ["# openpss camera feature file"]
    seen: set[str] = set()
    for row in walk(node_map, level):
        if row.access != "RW" or row.kind in ("Command", "Category") or row.name in seen:
            continue
        if row.value.startswith("("):
            continue
        seen.add(row.name)
        lines.append(f"{row.name}={row.value}")
        feature = node_map.get_node(row.name)
        if row.kind == "Enumeration" and feature.node.is_selector():
            lines += _selected_values(feature, node_map)
    return "\n".join(lines) + "\n"


def _selected_values(selector: Any, node_map: NodeMap) -> list[str]:
    """`Selector=entry` then the features it selects, for every entry; the selector is restored."""
    current = selector.to_string()
    lines: list[str] = []
    for entry in selector.symbolics:
        if entry == current:
            continue
        try:
            selector.from_string(entry)
        except Exception:
            continue
        lines.append(f"{selector.node.name}={entry}")
        for selected in selector.node.selected_features:
            node = getattr(selected, "node", selected)
            feature = node_map.get_node(node.name)
            kind = node.principal_interface_type
            if node.get_access_mode() == EAccessMode.RW and kind in VALUE_KINDS:
                lines.append(f"{node.name}={text_value(feature)}")
    selector.from_string(current)
    if lines:
        lines.append(f"{selector.node.name}={current}")
    return lines


def parse_feature_file(text: str) -> list[tuple[str, str]]:
    """(name, value) pairs of a feature file; raises ValueError naming the bad line."""
    pairs: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"feature file line {number} is not Name=value: {raw!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def load_features(node_map: NodeMap, text: str) -> list[str]:
    """Apply a feature file in order; returns one message per feature that could not be set."""
    problems: list[str] = []
    for name, value in parse_feature_file(text):
        try:
            feature = node_map.get_node(name)
        except Exception:
            problems.append(f"{name}: the camera has no such feature")
            continue
        if feature.node.get_access_mode() != EAccessMode.RW:
            problems.append(f"{name}: not writable now")
            continue
        try:
            feature.from_string(value)
        except Exception as exc:
            problems.append(f"{name}={value}: {exc}")
    return problems
