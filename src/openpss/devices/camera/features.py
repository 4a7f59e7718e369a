"""The virtual area-scan camera's feature table (SFNC names; ranges from the camera manuals).

The table is data: one `Feature(name, kind, category, description, ...)` per line or two, kept
compact on purpose (formatter off), grouped by category as MV Viewer shows them.
"""

from __future__ import annotations

from openpss.imaging import formats
from openpss.protocols.genicam import (
    Access,
    Category,
    EnumEntry,
    Feature,
    FeatureTable,
    Kind,
    Visibility,
)
from openpss.protocols.gige_vision import bootstrap as bs

E = Visibility.EXPERT
G = Visibility.GURU
RO, WO = Access.RO, Access.WO
INT, FLOAT, ENUM, BOOL, CMD, STR = (
    Kind.INTEGER,
    Kind.FLOAT,
    Kind.ENUMERATION,
    Kind.BOOLEAN,
    Kind.COMMAND,
    Kind.STRING,
)

# Where the client uploads flat-field coefficients with WRITEMEM (see FFCDataAddress).
FFC_DATA_ADDRESS = 0x0100_0000
# GigE Vision 2.0 device event ids: 0x0002 end of exposure is standard; 0x9000+ device specific.
EVENT_IDS = {"ExposureEnd": 0x0002, "FrameTrigger": 0x9001, "ParameterChanged": 0x9002}
LUT_SIZE = 4096  # 12-bit sensor data in, 12-bit out
DEFAULT_PIXEL_FORMATS = (formats.BAYER_RG8, formats.MONO8, formats.RGB8)

# Manual 3.14: (GenICam entry name, the manual's wording).
TEST_IMAGES = (
    ("Off", "Off"),
    ("MonoBar", "Mono Bar"),
    ("CheckBoard", "Check board"),
    ("ObliqueMonoBar", "Oblique Mono Bar"),
    ("VerticalColorBar", "Vertical Color Bar"),
    ("GradualColorBar", "Gradual Color Bar"),
    ("HorizontalColorBar", "Horizontal Color Bar"),
)
ALL_TEST_IMAGES = tuple(name for name, _ in TEST_IMAGES)

CATEGORIES = (
    Category("DeviceControl", "Information about the device and device-wide settings"),
    Category("ImageFormatControl", "Image size, region of interest, pixel format, test images"),
    Category("AcquisitionControl", "Acquisition mode, frame rate, triggers and exposure"),
    Category("AnalogControl", "Black level, gain, white balance, gamma and look-up table"),
    Category("LUTControl", "Look-up table", parent="AnalogControl", visibility=E),
    Category("FlatFieldCorrection", "Flat field correction (FFC)", visibility=E),
    Category("DigitalIOControl", "Input and output lines"),
    Category("FrequencyConverterControl", "Frequency converter of trigger pulses", visibility=E),
    Category("UserSetControl", "Saving and loading user sets"),
    Category("EventControl", "Device events sent on the message channel", visibility=E),
    Category("TransportLayerControl", "GigE Vision transport layer", visibility=E),
)


def _enum(names: tuple[str, ...] | tuple[tuple[str, str], ...]) -> tuple[EnumEntry, ...]:
    entries = []
    for value, item in enumerate(names):
        name, display = (item, item) if isinstance(item, str) else item
        entries.append(EnumEntry(name, value, display_name=display))
    return tuple(entries)


OFF_ONCE_CONTINUOUS = _enum(("Off", "Once", "Continuous"))
OFF_ON = _enum(("Off", "On"))
AUTO_HELP = "Off: {0} as set; Once: adjust once then Off; Continuous: keep adjusting"


# fmt: off
def _device() -> list[Feature]:
    c = "DeviceControl"
    return [
        # GigE Vision 2.0 bootstrap string registers (answered by the front-end).
        Feature("DeviceVendorName", STR, c, "Name of the manufacturer", bs.MANUFACTURER_NAME, 32,
                RO),
        Feature("DeviceModelName", STR, c, "Model of the device", bs.MODEL_NAME, 32, RO),
        Feature("DeviceVersion", STR, c, "Version of the device", bs.DEVICE_VERSION, 32, RO),
        Feature("DeviceManufacturerInfo", STR, c, "Manufacturer information",
                bs.MANUFACTURER_INFO, 48, RO),
        Feature("DeviceSerialNumber", STR, c, "Serial number", bs.SERIAL_NUMBER, 16, RO),
        Feature("DeviceUserID", STR, c, "User-programmable name of the device (kept across "
                "restarts)", bs.USER_NAME, 16, persistent=False),
        Feature("DeviceFirmwareVersion", STR, c, "Firmware version", None, 32, RO, E,
                persistent=False),
        Feature("DeviceScanType", ENUM, c, "Scan type of the sensor", access=RO, visibility=E,
                entries=_enum(("Areascan",)), default="Areascan", persistent=False),
        Feature("DeviceTemperatureSelector", ENUM, c, "Where the temperature is measured",
                visibility=E, entries=_enum(("Sensor",)), default="Sensor",
                selects=("DeviceTemperature",), persistent=False),
        Feature("DeviceTemperature", FLOAT, c, "Device temperature at the selected place",
                length=8, access=RO, visibility=E, unit="C", minimum=-30.0, maximum=80.0,
                selected_by=("DeviceTemperatureSelector",), persistent=False),
        Feature("DeviceLinkThroughputLimit", INT, c, "Link bandwidth the frame rate is computed "
                "for (1 Gbit/s GigE; up to 10 Gbit/s)", length=8, visibility=G, unit="bps",
                minimum=10_000_000, maximum=10_000_000_000, increment=1, default=1_000_000_000),
    ]


def _image_format(pixel_formats: tuple[int, ...], test_images: tuple[str, ...]) -> list[Feature]:
    c = "ImageFormatControl"
    roi = {"unit": "pixel", "dynamic_max": True, "lockable": True}
    return [
        Feature("SensorWidth", INT, c, "Effective width of the sensor", access=RO, visibility=E,
                unit="pixel", persistent=False),
        Feature("SensorHeight", INT, c, "Effective height of the sensor", access=RO,
                visibility=E, unit="pixel", persistent=False),
        Feature("WidthMax", INT, c, "Largest Width (sensor width / binning)", access=RO,
                visibility=E, unit="pixel", persistent=False),
        Feature("HeightMax", INT, c, "Largest Height (sensor height / binning)", access=RO,
                visibility=E, unit="pixel", persistent=False),
        Feature("Width", INT, c, "Width of the image (region of interest)", minimum=8,
                increment=8, **roi),  # type: ignore[arg-type]
        Feature("Height", INT, c, "Height of the image (region of interest)", minimum=2,
                increment=2, **roi),  # type: ignore[arg-type]
        Feature("OffsetX", INT, c, "Horizontal offset of the region of interest", minimum=0,
                increment=2, **roi),  # type: ignore[arg-type]
        Feature("OffsetY", INT, c, "Vertical offset of the region of interest", minimum=0,
                increment=2, **roi),  # type: ignore[arg-type]
        Feature("BinningHorizontal", INT, c, "Horizontal pixels combined into one", visibility=E,
                minimum=1, maximum=4, increment=1, default=1, lockable=True),
        Feature("BinningVertical", INT, c, "Vertical pixels combined into one", visibility=E,
                minimum=1, maximum=4, increment=1, default=1, lockable=True),
        Feature("ReverseX", BOOL, c, "Mirror the image horizontally", visibility=E,
                lockable=True),
        Feature("ReverseY", BOOL, c, "Mirror the image vertically", visibility=E, lockable=True),
        Feature("PixelFormat", ENUM, c, "Format of the pixels sent",
                entries=tuple(EnumEntry(formats.pixel_format_name(p), p) for p in pixel_formats),
                default=formats.pixel_format_name(pixel_formats[0]), lockable=True),
        Feature("TestImageSelector", ENUM, c,
                "Test image sent instead of the live image (Off: live image)",
                entries=_enum(tuple(t for t in TEST_IMAGES if t[0] in test_images)),
                default="Off", display_name="Test Pattern"),
    ]


def _acquisition() -> list[Feature]:
    c = "AcquisitionControl"
    trigger = ("TriggerSelector",)
    return [
        Feature("AcquisitionMode", ENUM, c, "Continuous, SingleFrame (one frame then stop) or "
                "MultiFrame (AcquisitionFrameCount frames then stop)",
                entries=_enum(("Continuous", "SingleFrame", "MultiFrame")),
                default="Continuous", lockable=True),
        Feature("AcquisitionStart", CMD, c, "Start the acquisition", access=WO,
                persistent=False),
        Feature("AcquisitionStop", CMD, c, "Stop the acquisition", access=WO, persistent=False),
        Feature("AcquisitionFrameCount", INT, c, "Frames captured in MultiFrame mode (1-255)",
                minimum=1, maximum=255, increment=1, default=1, lockable=True),
        Feature("AcquisitionFrameRateEnable", BOOL, c,
                "Limit the frame rate to AcquisitionFrameRate"),
        Feature("AcquisitionFrameRate", FLOAT, c, "Frame rate wanted; the camera runs at "
                "ResultingFrameRateAbs when this is higher", length=8, unit="Hz", minimum=0.1,
                maximum=1000.0, default=10.0, lockable=True),
        Feature("ResultingFrameRateAbs", FLOAT, c, "Largest frame rate the current exposure, "
                "ROI, pixel format and link allow", length=8, access=RO, unit="Hz",
                minimum=0.0, maximum=100000.0, persistent=False),
        Feature("TriggerSelector", ENUM, c, "FrameStart: one trigger, one frame; "
                "AcquisitionStart: one trigger starts the acquisition",
                entries=_enum(("FrameStart", "AcquisitionStart")), default="FrameStart",
                selects=("TriggerMode", "TriggerSoftware", "TriggerSource", "TriggerActivation",
                         "TriggerDelay")),
        Feature("TriggerMode", ENUM, c, "Whether the selected trigger is used", entries=OFF_ON,
                default="Off", selected_by=trigger),
        Feature("TriggerSoftware", CMD, c, "Send a software trigger", access=WO,
                selected_by=trigger, lockable=True, persistent=False),
        Feature("TriggerSource", ENUM, c, "Where the trigger signal comes from",
                entries=_enum(("Software", "Line1", "Line2", "FrequencyConverter")),
                default="Software", selected_by=trigger),
        Feature("TriggerActivation", ENUM, c, "Edge of a hardware trigger signal that triggers",
                entries=_enum(("RisingEdge", "FallingEdge")), default="RisingEdge",
                selected_by=trigger),
        Feature("TriggerDelay", FLOAT, c, "Delay from the trigger signal to the start of "
                "exposure (0-1,000,000 us)", length=8, visibility=E, unit="us", minimum=0.0,
                maximum=1_000_000.0, selected_by=trigger),
        Feature("ExposureTime", FLOAT, c, "Exposure time", length=8, unit="us", minimum=16.0,
                maximum=1_000_000.0, default=10_000.0),
    ]


def _analog() -> list[Feature]:
    c, lut_c = "AnalogControl", "LUTControl"
    lut = ("LUTSelector",)
    return [
        Feature("BlackLevelAuto", ENUM, c, AUTO_HELP.format("BlackLevel"),
                entries=OFF_ONCE_CONTINUOUS, default="Off", display_name="Black Level Enable"),
        Feature("BlackLevel", INT, c, "Grey level of a dark image, in 12-bit ADC codes",
                minimum=0, maximum=4095, increment=1, default=64, lockable=True),
        Feature("GainAuto", ENUM, c, AUTO_HELP.format("GainRaw"), entries=OFF_ONCE_CONTINUOUS,
                default="Off"),
        Feature("GainRaw", FLOAT, c, "Analog gain factor", length=8, minimum=1.0, maximum=32.0,
                default=1.0, lockable=True),
        Feature("DigitalShift", INT, c, "Digital gain: the data is shifted left by this many "
                "bits (0-4)", visibility=E, minimum=0, maximum=4, increment=1),
        Feature("BalanceWhiteAuto", ENUM, c, AUTO_HELP.format("BalanceRatio"),
                entries=OFF_ONCE_CONTINUOUS, default="Off"),
        Feature("BalanceRatioSelector", ENUM, c, "Colour channel BalanceRatio applies to",
                entries=_enum(("Red", "Green", "Blue")), default="Red",
                selects=("BalanceRatio",)),
        Feature("BalanceRatio", FLOAT, c, "Gain of the selected colour channel (0-15)",
                length=8, minimum=0.0, maximum=15.0, default=1.0,
                selected_by=("BalanceRatioSelector",), lockable=True),
        Feature("GammaEnable", BOOL, c, "Apply Gamma (exclusive with the look-up table)",
                lockable=True),
        Feature("Gamma", FLOAT, c, "Gamma; the smaller the value, the brighter the image",
                length=8, minimum=0.0, maximum=3.99998, default=1.0, lockable=True),
        Feature("LUTSelector", ENUM, lut_c, "Look-up table to configure", visibility=E,
                entries=_enum(("Luminance",)), default="Luminance",
                selects=("LUTEnable", "LUTIndex", "LUTValue")),
        Feature("LUTEnable", BOOL, lut_c, "Apply the look-up table (unavailable while Gamma "
                "is enabled and not 1)", visibility=E, selected_by=lut, lockable=True),
        Feature("LUTIndex", INT, lut_c, "Input value of the LUT entry", visibility=G, minimum=0,
                maximum=LUT_SIZE - 1, increment=1, selected_by=lut, selects=("LUTValue",),
                persistent=False),
        Feature("LUTValue", INT, lut_c, "Output value of the LUT entry", visibility=G,
                minimum=0, maximum=LUT_SIZE - 1, increment=1,
                selected_by=("LUTSelector", "LUTIndex")),
    ]


def _ffc() -> list[Feature]:
    c = "FlatFieldCorrection"
    return [
        Feature("FFCEnable", BOOL, c, "Apply the flat field correction (needs loaded "
                "coefficients)", lockable=True),
        Feature("FFCMode", ENUM, c, "PointToPoint: a coefficient per pixel; Plane16x16: "
                "16 x 16 planes", entries=_enum(("PointToPoint", "Plane16x16")),
                default="PointToPoint", lockable=True),
        Feature("FFCDataAddress", INT, c, "Device memory address the coefficients are "
                "written to (WRITEMEM)", access=RO, visibility=G, representation="HexNumber",
                persistent=False),
        Feature("FFCDataSize", INT, c, "Bytes of coefficients the current FFCMode needs at "
                "FFCDataAddress", access=RO, visibility=G, unit="B", persistent=False),
        Feature("FFCDataLoad", CMD, c, "Check and apply the coefficients written at "
                "FFCDataAddress", access=WO, visibility=G, persistent=False, lockable=True),
        Feature("FFCStatus", ENUM, c, "Result of the last FFCDataLoad", access=RO,
                visibility=E, persistent=False, default="NotLoaded",
                entries=_enum(("NotLoaded", "Loaded", "RatioExceeded", "InvalidData"))),
    ]


def _lines() -> list[Feature]:
    c = "DigitalIOControl"
    line = ("LineSelector",)
    sources = ("Off", "ExposureActive", "FrameTriggerWait", "UserOutput0", "UserOutput1")
    return [
        Feature("LineSelector", ENUM, c, "Line0: opto-isolated output; Line1: opto-isolated "
                "input; Line2: GPIO", entries=_enum(("Line0", "Line1", "Line2")),
                default="Line0", selects=("LineMode", "LineInverter", "LineSource",
                                          "LineStatus", "LineDebouncerTimeAbs")),
        Feature("LineMode", ENUM, c, "Input or output (only Line2 can change)",
                entries=_enum(("Input", "Output")), default="Output", selected_by=line,
                lockable=True),
        Feature("LineInverter", BOOL, c, "Invert the electrical signal of the line",
                visibility=E, selected_by=line),
        Feature("LineSource", ENUM, c, "What drives an output line", entries=_enum(sources),
                default="Off", selected_by=line, lockable=True),
        Feature("LineStatus", BOOL, c, "Current level of the line", access=RO, visibility=E,
                selected_by=line, persistent=False),
        Feature("LineStatusAll", INT, c, "Levels of all lines, bit n = Line n", access=RO,
                visibility=G, representation="HexNumber", persistent=False),
        Feature("LineDebouncerTimeAbs", FLOAT, c, "Input pulses shorter than this are filtered "
                "(input lines only)", length=8, visibility=E, unit="us", minimum=0.0,
                maximum=1_000_000.0, selected_by=line, lockable=True),
        Feature("UserOutputSelector", ENUM, c, "User output to set",
                entries=_enum(("UserOutput0", "UserOutput1")), default="UserOutput0",
                selects=("UserOutputValue",)),
        Feature("UserOutputValue", BOOL, c, "Level of the selected user output (drives lines "
                "whose LineSource is it)", selected_by=("UserOutputSelector",)),
    ]


def _frequency_converter() -> list[Feature]:
    c = "FrequencyConverterControl"
    sel = ("FrequencyConverterSelector",)
    return [
        Feature("FrequencyConverterSelector", ENUM, c, "Frequency converter to configure",
                entries=_enum(("FrequencyConverter0",)), default="FrequencyConverter0",
                selects=("FrequencyConverterInputSource", "FrequencyConverterMultiplier",
                         "FrequencyConverterDivider")),
        Feature("FrequencyConverterInputSource", ENUM, c, "Input signal the converter "
                "processes", display_name="InputSource", entries=_enum(("Line1", "Line2")),
                default="Line1", selected_by=sel),
        Feature("FrequencyConverterMultiplier", INT, c, "Output pulses per input pulse "
                "(applied first)", display_name="Multiplier", minimum=1, maximum=32,
                increment=1, default=1, selected_by=sel),
        Feature("FrequencyConverterDivider", INT, c, "One output pulse every Divider pulses "
                "(applied after the multiplier)", display_name="Divider", minimum=1,
                maximum=128, increment=1, default=1, selected_by=sel),
    ]


def _user_sets() -> list[Feature]:
    c = "UserSetControl"
    sets = _enum(("Default", "UserSet1", "UserSet2"))
    return [
        Feature("UserSetSelector", ENUM, c, "User set to load or save", entries=sets,
                default="Default", persistent=False),
        Feature("UserSetLoad", CMD, c, "Load the selected user set", access=WO,
                persistent=False, lockable=True),
        Feature("UserSetSave", CMD, c, "Save the current settings as the selected user set "
                "(not Default)", access=WO, persistent=False, lockable=True),
        Feature("UserSetDefault", ENUM, c, "User set loaded at power-up", entries=sets,
                default="Default", persistent=False),
    ]


def _events() -> list[Feature]:
    c = "EventControl"
    features = [
        Feature("EventSelector", ENUM, c, "Event to configure",
                entries=tuple(EnumEntry(n, i) for i, n in enumerate(EVENT_IDS)),
                default="ExposureEnd", selects=("EventNotification",)),
        Feature("EventNotification", ENUM, c, "Send the selected event on the message "
                "channel", entries=OFF_ON, default="Off", selected_by=("EventSelector",)),
    ]
    for event in EVENT_IDS:
        features += [
            Feature(f"Event{event}", INT, c, f"Event id of {event}", access=RO, visibility=G,
                    persistent=False),
            Feature(f"Event{event}Timestamp", INT, c, f"Timestamp of the last {event} event",
                    length=8, access=RO, visibility=G, unit="ns", persistent=False),
            Feature(f"Event{event}FrameID", INT, c, f"Frame id of the last {event} event",
                    length=8, access=RO, visibility=G, persistent=False),
        ]
    return features


def _transport() -> list[Feature]:
    c = "TransportLayerControl"
    return [
        Feature("PayloadSize", INT, c, "Bytes of image data of one frame", access=RO, unit="B",
                persistent=False),
        Feature("TLParamsLocked", INT, c, "Set by the client while streaming: image size and "
                "format may not change", visibility=Visibility.INVISIBLE, minimum=0, maximum=1,
                persistent=False),
        # GigE Vision 2.0 bootstrap registers, answered by the network front-end.
        Feature("GevCurrentIPAddress", INT, c, "Current IP address", bs.CURRENT_IP, access=RO,
                visibility=G, representation="IPV4Address", persistent=False),
        Feature("GevHeartbeatTimeout", INT, c, "Control channel heartbeat timeout",
                bs.HEARTBEAT_TIMEOUT,
                visibility=G, unit="ms", minimum=500, maximum=0xFFFFFFFF, persistent=False),
        Feature("GevTimestampTickFrequency", INT, c, "Timestamp ticks per second",
                bs.TIMESTAMP_TICK_FREQUENCY_HIGH, 8,
                RO, G, unit="Hz", persistent=False),
        Feature("GevTimestampControlLatch", CMD, c, "Latch the timestamp into "
                "GevTimestampValue", bs.TIMESTAMP_CONTROL, access=WO, visibility=G,
                command_value=bs.TIMESTAMP_LATCH,
                persistent=False),
        Feature("GevTimestampControlReset", CMD, c, "Reset the timestamp to 0",
                bs.TIMESTAMP_CONTROL, access=WO, visibility=G, command_value=bs.TIMESTAMP_RESET,
                persistent=False),
        Feature("GevTimestampValue", INT, c, "Latched timestamp", bs.TIMESTAMP_VALUE_HIGH, 8, RO, G,
                persistent=False),
        Feature("GevSCPHostPort", INT, c, "Stream channel 0 destination port", bs.SCP0,
                visibility=G, bits=(16, 31), persistent=False),
        Feature("GevSCPSPacketSize", INT, c, "Stream channel 0 packet size", bs.SCPS0,
                visibility=E, unit="B", minimum=576, maximum=9000, bits=(16, 31),
                persistent=False),
        Feature("GevSCPD", INT, c, "Stream channel 0 delay between packets", bs.SCPD0,
                visibility=G, persistent=False),
        Feature("GevSCDA", INT, c, "Stream channel 0 destination address", bs.SCDA0,
                visibility=G, representation="IPV4Address", persistent=False),
    ]
# fmt: on


def build_feature_table(
    pixel_formats: tuple[int, ...] = DEFAULT_PIXEL_FORMATS,
    test_images: tuple[str, ...] = ALL_TEST_IMAGES,
) -> FeatureTable:
    """The camera's feature table for a sensor's formats and test images (natural format first)."""
    features = (
        _device()
        + _image_format(pixel_formats, test_images)
        + _acquisition()
        + _analog()
        + _ffc()
        + _lines()
        + _frequency_converter()
        + _user_sets()
        + _events()
        + _transport()
    )
    return FeatureTable(features, CATEGORIES)
