"""Which features the current mode locks (GenICam pIsLocked) and their live ranges (pMin/pMax)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openpss.protocols.genicam import Feature

# Locked from AcquisitionStart to the end of the acquisition, and while TLParamsLocked is set.
LOCKED_WHILE_ACQUIRING = frozenset(
    {
        "Width",
        "Height",
        "OffsetX",
        "OffsetY",
        "BinningHorizontal",
        "BinningVertical",
        "ReverseX",
        "ReverseY",
        "PixelFormat",
        "AcquisitionMode",
        "AcquisitionFrameCount",
        "FFCMode",
        "UserSetLoad",
    }
)
AUTO_OF = {
    "GainRaw": "GainAuto",
    "BlackLevel": "BlackLevelAuto",
    "BalanceRatio": "BalanceWhiteAuto",
}


class FeatureRules:
    """Mixin for CameraModel: lock reasons and limits that depend on other features."""

    ffc: Any  # FFCStore

    if TYPE_CHECKING:  # provided by CameraModel, which mixes this class in

        def get(self, name: str, **selectors: Any) -> Any:
            """The value of a feature."""

        @property
        def acquiring(self) -> bool:
            """Whether an acquisition is running."""

    def lock_reason(self, name: str, key: tuple[Any, ...] = ()) -> str | None:
        """Why feature `name` cannot be written now (None: it can)."""
        if name in LOCKED_WHILE_ACQUIRING and (self.acquiring or self.get("TLParamsLocked")):
            return f"{name} cannot change while acquiring; run AcquisitionStop first"
        if name in AUTO_OF and self.get(AUTO_OF[name]) != "Off":
            return f"{name} is set automatically; set {AUTO_OF[name]} to Off first"
        check = getattr(self, f"_lock_{name}", None)
        return check(key) if check is not None else None

    def _lock_AcquisitionFrameRate(self, key: tuple[Any, ...]) -> str | None:
        if not self.get("AcquisitionFrameRateEnable"):
            return "AcquisitionFrameRate applies only with AcquisitionFrameRateEnable True"
        return None

    def _lock_TriggerSoftware(self, key: tuple[Any, ...]) -> str | None:
        selector = key[0] if key else self.get("TriggerSelector")
        mode = self.get("TriggerMode", TriggerSelector=selector)
        source = self.get("TriggerSource", TriggerSelector=selector)
        if mode != "On" or source != "Software":
            return f"TriggerSoftware needs TriggerMode On and TriggerSource Software ({selector})"
        return None

    def _lock_GammaEnable(self, key: tuple[Any, ...]) -> str | None:
        if self.get("LUTEnable", LUTSelector="Luminance"):
            return "Gamma and the LUT are exclusive; set LUTEnable to False first"
        return None

    def _lock_Gamma(self, key: tuple[Any, ...]) -> str | None:
        if not self.get("GammaEnable"):
            return "Gamma is not valid while GammaEnable is False"
        if self.get("LUTEnable", LUTSelector="Luminance"):
            return "Gamma and the LUT are exclusive; set LUTEnable to False first"
        return None

    def _lock_LUTEnable(self, key: tuple[Any, ...]) -> str | None:
        if self.get("GammaEnable") and self.get("Gamma") != 1.0:
            return "the LUT is unavailable while Gamma is enabled; set Gamma to 1 or disable it"
        return None

    def _lock_FFCEnable(self, key: tuple[Any, ...]) -> str | None:
        if self.get("FFCMode") not in self.ffc.loaded:
            return "no FFC coefficients for this FFCMode; upload them and run FFCDataLoad"
        return None

    def _lock_FFCDataLoad(self, key: tuple[Any, ...]) -> str | None:
        if self.acquiring:
            return "FFCDataLoad cannot run while acquiring; run AcquisitionStop first"
        return None

    def _lock_LineMode(self, key: tuple[Any, ...]) -> str | None:
        line = key[0] if key else self.get("LineSelector")
        if line != "Line2":
            kind = "output" if line == "Line0" else "input"
            return f"{line} is an opto-isolated {kind}; only Line2 can change LineMode"
        return None

    def _lock_LineSource(self, key: tuple[Any, ...]) -> str | None:
        line = key[0] if key else self.get("LineSelector")
        if self.get("LineMode", LineSelector=line) != "Output":
            return f"LineSource applies to output lines; {line} is an input"
        return None

    def _lock_LineDebouncerTimeAbs(self, key: tuple[Any, ...]) -> str | None:
        line = key[0] if key else self.get("LineSelector")
        if self.get("LineMode", LineSelector=line) != "Input":
            return f"LineDebouncerTimeAbs is only available in input mode; {line} is an output"
        return None

    def _lock_UserSetSave(self, key: tuple[Any, ...]) -> str | None:
        if self.get("UserSetSelector") == "Default":
            return "the Default user set is read-only; select UserSet1 or UserSet2"
        return None

    def limits(self, feature: Feature) -> tuple[float, float]:
        """(minimum, maximum) of a feature now; ROI limits depend on each other."""
        dynamic = {
            "Width": lambda: self.get("WidthMax") - self.get("OffsetX"),
            "Height": lambda: self.get("HeightMax") - self.get("OffsetY"),
            "OffsetX": lambda: self.get("WidthMax") - self.get("Width"),
            "OffsetY": lambda: self.get("HeightMax") - self.get("Height"),
        }
        low = feature.minimum if feature.minimum is not None else 0
        if feature.name in dynamic:
            return low, dynamic[feature.name]()
        high = feature.maximum if feature.maximum is not None else feature.int_maximum
        return low, high
