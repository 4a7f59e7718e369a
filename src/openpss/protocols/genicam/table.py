"""The feature table: one dataclass per GenICam feature, the single source of the XML."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

# Feature registers start here; addresses below are GigE Vision bootstrap/transport registers.
FEATURE_BASE = 0x10000


class Kind(enum.StrEnum):
    """The GenICam interface a feature implements (SFNC "interface" column)."""

    INTEGER = "Integer"
    FLOAT = "Float"
    ENUMERATION = "Enumeration"
    BOOLEAN = "Boolean"
    COMMAND = "Command"
    STRING = "String"
    REGISTER = "Register"


class Access(enum.StrEnum):
    """Register access mode (GenICam AccessMode)."""

    RO = "RO"
    RW = "RW"
    WO = "WO"


class Visibility(enum.StrEnum):
    """GenICam visibility level; the client shows features up to the chosen level."""

    BEGINNER = "Beginner"
    EXPERT = "Expert"
    GURU = "Guru"
    INVISIBLE = "Invisible"


@dataclass(frozen=True, slots=True)
class EnumEntry:
    """One entry of an Enumeration: symbolic name and the register value."""

    name: str
    value: int
    description: str = ""
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Category:
    """A node of the feature tree; features name their category."""

    name: str
    description: str
    parent: str = "Root"
    display_name: str = ""
    visibility: Visibility = Visibility.BEGINNER


@dataclass(frozen=True, slots=True)
class Feature:
    """One GenICam feature and the register that holds it."""

    name: str
    kind: Kind
    category: str
    description: str
    address: int | None = None  # None: allocated in feature space by FeatureTable
    length: int = 4
    access: Access = Access.RW
    visibility: Visibility = Visibility.BEGINNER
    display_name: str = ""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    increment: int | None = None
    entries: tuple[EnumEntry, ...] = ()
    selects: tuple[str, ...] = ()  # features whose value depends on this selector
    selected_by: tuple[str, ...] = ()  # selectors this feature's value depends on
    default: float | str = 0
    bits: tuple[int, int] | None = None  # (msb, lsb), big-endian bit numbers, MaskedIntReg
    command_value: int = 1
    dynamic_min: bool = False  # minimum read from a register (pMin) at min_address
    dynamic_max: bool = False  # maximum read from a register (pMax) at max_address
    lockable: bool = False  # pIsLocked through a lock register at lock_address
    persistent: bool = True  # saved in user sets
    representation: str = ""  # Linear, HexNumber, IPV4Address, MACAddress, PureNumber...
    signed: bool = False
    max_address: int | None = None
    min_address: int | None = None
    lock_address: int | None = None

    @property
    def is_bootstrap(self) -> bool:
        """Whether the register lives in the GigE Vision bootstrap space (front-end owned)."""
        return self.address is not None and self.address < FEATURE_BASE

    @property
    def int_minimum(self) -> int:
        """The static minimum as an integer (0 when unset)."""
        return int(self.minimum) if self.minimum is not None else 0

    @property
    def int_maximum(self) -> int:
        """The static maximum as an integer (largest register value when unset)."""
        if self.maximum is not None:
            return int(self.maximum)
        bits = self.length * 8 if self.bits is None else self.bits[1] - self.bits[0] + 1
        return (1 << (bits - (1 if self.signed else 0))) - 1

    def entry(self, name: str) -> EnumEntry:
        """The entry with this symbolic name; KeyError when it does not exist."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(f"{self.name} has no entry {name!r}")

    def entry_by_value(self, value: int) -> EnumEntry | None:
        """The entry with this register value, or None."""
        for entry in self.entries:
            if entry.value == value:
                return entry
        return None


def _align(value: int, step: int) -> int:
    return (value + step - 1) // step * step


class FeatureTable:
    """Features plus categories, with register addresses allocated in feature space."""

    def __init__(
        self,
        features: Iterable[Feature],
        categories: Iterable[Category],
        *,
        base: int = FEATURE_BASE,
    ) -> None:
        self.categories: tuple[Category, ...] = tuple(categories)
        self._features: dict[str, Feature] = {}
        self._by_address: dict[int, Feature] = {}
        self._aux: dict[int, tuple[str, str]] = {}
        cursor = base
        for feature in features:
            if feature.name in self._features:
                raise ValueError(f"feature {feature.name} is defined twice")
            feature, cursor = self._place(feature, cursor)
            self._features[feature.name] = feature
            if not feature.is_bootstrap and feature.address is not None:
                self._by_address[feature.address] = feature
        self.end = cursor
        self._check_links()

    def _place(self, feature: Feature, cursor: int) -> tuple[Feature, int]:
        changes: dict[str, Any] = {}
        if feature.address is None:
            changes["address"] = cursor
            cursor = _align(cursor + feature.length, 4)
        for flag, key, kind in (
            (feature.dynamic_min, "min_address", "min"),
            (feature.dynamic_max, "max_address", "max"),
            (feature.lockable, "lock_address", "lock"),
        ):
            if flag:
                changes[key] = cursor
                self._aux[cursor] = (kind, feature.name)
                cursor += 4
        return (replace(feature, **changes) if changes else feature), cursor

    def _check_links(self) -> None:
        names = set(self._features)
        category_names = {c.name for c in self.categories} | {"Root"}
        for feature in self._features.values():
            missing = [n for n in (*feature.selects, *feature.selected_by) if n not in names]
            if missing:
                raise ValueError(f"{feature.name} refers to unknown features {missing}")
            if feature.category not in category_names:
                raise ValueError(f"{feature.name} is in unknown category {feature.category}")

    def __iter__(self) -> Iterator[Feature]:
        return iter(self._features.values())

    def __len__(self) -> int:
        return len(self._features)

    def __contains__(self, name: object) -> bool:
        return name in self._features

    def __getitem__(self, name: str) -> Feature:
        return self._features[name]

    def get(self, name: str, default: Feature | None = None) -> Feature | None:
        """The feature called `name`, or default."""
        return self._features.get(name, default)

    def at(self, address: int) -> Feature | None:
        """The feature whose register starts at this feature-space address."""
        return self._by_address.get(address)

    def aux_at(self, address: int) -> tuple[str, Feature] | None:
        """("min" | "max" | "lock", feature) for an auxiliary register address."""
        aux = self._aux.get(address)
        return None if aux is None else (aux[0], self._features[aux[1]])

    def features_in(self, category: str) -> list[Feature]:
        """Features of one category, in table order."""
        return [f for f in self._features.values() if f.category == category]
