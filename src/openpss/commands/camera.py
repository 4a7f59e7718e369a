"""`openpss camera` commands: the GigE Vision client (MV Viewer's functions on the command line)."""

from __future__ import annotations

import contextlib
import json
import queue
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from openpss.protocols.gige_vision import bootstrap
from openpss.protocols.gige_vision.gvcp import GVCP_PORT

app = typer.Typer(
    help="GigE Vision camera client: discovery, features, acquisition, statistics, FFC.",
    no_args_is_help=True,
)

ADDRESS = typer.Argument(..., help="camera IPv4 address (see `openpss camera list`)")
PORT = typer.Option(GVCP_PORT, "--port", help="GVCP port of the camera")
PACKET = typer.Option(1500, help="stream packet size in bytes (576-9000; jumbo up to 65500)")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def _camera(address: str, port: int, *, control: bool = True) -> Iterator[Any]:
    from openpss.protocols.gige_vision.camera import GigECamera
    from openpss.protocols.gige_vision.client import GvcpError

    try:
        cam = GigECamera(address, port=port, control=control)
    except (GvcpError, OSError) as exc:
        raise _fail(f"cannot open camera {address}:{port}: {exc}") from None
    try:
        yield cam
    finally:
        cam.close()


@app.command("list")
def list_cameras(
    interface: str = typer.Option(..., help="interface name or address to discover on, e.g. lo"),
    timeout: float = typer.Option(1.0, help="seconds to wait for answers"),
) -> None:
    """Discover GigE Vision cameras on one interface (broadcast DISCOVERY)."""
    from openpss.protocols.gige_vision.client import GvcpError, discover

    try:
        found = discover(interface, timeout=timeout)
    except (GvcpError, OSError) as exc:
        raise _fail(str(exc)) from None
    if not found:
        typer.echo(f"no camera answered on {interface}")
    for dev in found:
        info = dev.info
        typer.echo(
            f"{dev.address}\t{info.manufacturer}\t{info.model}\t{info.serial}\t"
            f"{info.user_name or '-'}\t{info.mac_text}"
        )


@app.command()
def info(address: str = ADDRESS, port: int = PORT) -> None:
    """Device information from the bootstrap registers."""
    from openpss.protocols.gige_vision.client import GvcpClient, GvcpError
    from openpss.protocols.gige_vision.gvcp import DeviceInfo

    try:
        with GvcpClient(address, port=port) as client:
            data = DeviceInfo.parse(client.read_memory(0, 0xF8))
            url = client.genicam_url()
            heartbeat = client.read_register(bootstrap.HEARTBEAT_TIMEOUT)
    except (GvcpError, OSError) as exc:
        raise _fail(str(exc)) from None
    rows = {
        "manufacturer": data.manufacturer,
        "model": data.model,
        "device version": data.device_version,
        "manufacturer info": data.manufacturer_info,
        "serial number": data.serial,
        "user-defined name": data.user_name,
        "MAC address": data.mac_text,
        "IP address": data.ip,
        "GigE Vision version": f"{data.version_major}.{data.version_minor}",
        "GenICam URL": url,
        "heartbeat timeout": f"{heartbeat} ms",
    }
    for key, value in rows.items():
        typer.echo(f"{key:20} {value}")


@app.command()
def features(
    address: str = ADDRESS,
    port: int = PORT,
    level: str = typer.Option("beginner", help="visibility level: beginner, expert or guru"),
) -> None:
    """Feature tree with values, up to a visibility level."""
    from openpss.protocols.gige_vision.nodemap import level_of, walk

    try:
        level_of(level)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with _camera(address, port, control=False) as cam:
        for row in walk(cam.node_map, level):
            indent = "  " * row.depth
            if row.kind == "Category":
                typer.echo(f"{indent}{row.name}")
            else:
                typer.echo(f"{indent}{row.name} [{row.kind} {row.access}] {row.value}")


@app.command()
def get(
    address: str = ADDRESS,
    names: list[str] = typer.Argument(..., help="feature names"),
    port: int = PORT,
) -> None:
    """Print feature values."""
    from openpss.protocols.gige_vision.nodemap import text_value

    with _camera(address, port, control=False) as cam:
        for name in names:
            try:
                typer.echo(f"{name}={text_value(cam.node(name))}")
            except KeyError as exc:
                raise _fail(str(exc.args[0])) from None


@app.command("set")
def set_features(
    address: str = ADDRESS,
    assignments: list[str] = typer.Argument(..., help="Name=value pairs, applied in order"),
    port: int = PORT,
) -> None:
    """Set features (commands: Name alone executes it)."""
    with _camera(address, port) as cam:
        for item in assignments:
            name, sep, value = item.partition("=")
            try:
                if sep:
                    cam.set(name, value)
                else:
                    cam.execute(name)
            except KeyError as exc:
                raise _fail(str(exc.args[0])) from None
            except Exception as exc:
                raise _fail(f"{item}: {exc}") from None
            typer.echo(f"{name}={cam.get(name)}" if sep else f"{name} executed")


def _save_frame(frame: Any, directory: Path, fmt: str) -> Path:
    from openpss.imaging import pixel_format_name, to_rgb8, unpack

    image = unpack(frame.data, frame.pixel_format, frame.width, frame.height)
    path = directory / f"frame_{frame.block_id:06d}.{fmt}"
    if fmt == "tiff":
        import tifffile

        tifffile.imwrite(
            path, image, metadata={"PixelFormat": pixel_format_name(frame.pixel_format)}
        )
    else:
        from PIL import Image

        rgb = to_rgb8(memoryview(frame.data), frame.pixel_format, frame.width, frame.height)
        Image.fromarray(rgb).save(path)
    return path


def _grab(
    cam: Any, *, mode: str, count: int, packet_size: int, timeout: float
) -> Generator[tuple[Any, Any], None, None]:
    """Configure the acquisition mode, stream, and yield (frame, receiver)."""
    modes = {"continuous": "Continuous", "single": "SingleFrame", "multi": "MultiFrame"}
    if mode not in modes:
        raise typer.BadParameter(f"--mode must be one of {', '.join(modes)}")
    cam.set("AcquisitionMode", modes[mode])
    if mode == "multi":
        cam.set("AcquisitionFrameCount", str(count))
    wanted = 1 if mode == "single" else count
    receiver = cam.start_stream(packet_size=packet_size)
    cam.execute("AcquisitionStart")
    try:
        for frame in cam.frames(wanted, timeout=timeout):
            yield frame, receiver
            receiver.release(frame)
    finally:
        if mode == "continuous":
            cam.execute("AcquisitionStop")


@app.command()
def acquire(
    address: str = ADDRESS,
    port: int = PORT,
    mode: str = typer.Option("continuous", help="continuous, single or multi"),
    count: int = typer.Option(10, help="frames to receive (multi: AcquisitionFrameCount 1-255)"),
    output: Path | None = typer.Option(None, help="directory to save frames into"),
    fmt: str = typer.Option("png", "--format", help="png or tiff"),
    packet_size: int = PACKET,
    timeout: float = typer.Option(5.0, help="seconds to wait for each frame"),
) -> None:
    """Acquire frames and optionally save them (PNG for display, TIFF keeps the raw data)."""
    if fmt not in ("png", "tiff"):
        raise typer.BadParameter("--format must be png or tiff")
    if mode == "multi" and not 1 <= count <= 255:
        raise typer.BadParameter("--count for multi mode must be 1-255 (AcquisitionFrameCount)")
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
    with _camera(address, port) as cam:
        try:
            for frame, _ in _grab(
                cam, mode=mode, count=count, packet_size=packet_size, timeout=timeout
            ):
                state = (
                    "complete" if frame.complete else f"FAILED ({frame.missing_packets} missing)"
                )
                line = f"block {frame.block_id} {frame.width}x{frame.height} {state}"
                if output is not None and frame.complete:
                    line += f" -> {_save_frame(frame, output, fmt)}"
                typer.echo(line)
        except queue.Empty:
            raise _fail(
                f"no frame within {timeout} s (is the camera waiting for a trigger?)"
            ) from None
        assert cam.receiver is not None
        typer.echo(json.dumps(cam.receiver.stats.as_dict()))


@app.command()
def stats(
    address: str = ADDRESS,
    port: int = PORT,
    duration: float = typer.Option(3.0, help="seconds to acquire"),
    packet_size: int = PACKET,
) -> None:
    """Acquire continuously for a while and print MV Viewer's statistics."""
    with _camera(address, port) as cam:
        cam.set("AcquisitionMode", "Continuous")
        receiver = cam.start_stream(packet_size=packet_size)
        cam.execute("AcquisitionStart")
        end = time.monotonic() + duration
        while time.monotonic() < end:
            with contextlib.suppress(queue.Empty):
                receiver.release(receiver.get(timeout=max(0.01, end - time.monotonic())))
        cam.execute("AcquisitionStop")
        figures: dict[str, Any] = {"configured_frame_rate": _configured_rate(cam)}
        figures.update(receiver.stats.as_dict())
    for key, value in figures.items():
        typer.echo(f"{key:22} {value}")


def _configured_rate(cam: Any) -> Any:
    for name in ("ResultingFrameRateAbs", "AcquisitionFrameRate"):
        try:
            return cam.get(name)
        except Exception:
            continue
    return None


@app.command("white-balance")
def white_balance(
    address: str = ADDRESS,
    port: int = PORT,
    packet_size: int = PACKET,
    frames: int = typer.Option(30, help="frames to let BalanceWhiteAuto=Once settle"),
) -> None:
    """Run white balance once (BalanceWhiteAuto=Once) and print the resulting ratios."""
    with _camera(address, port) as cam:
        cam.set("BalanceWhiteAuto", "Once")
        grab = _grab(cam, mode="continuous", count=frames, packet_size=packet_size, timeout=5)
        for _ in grab:
            if cam.get("BalanceWhiteAuto") == "Off":
                break
        grab.close()  # stops the acquisition now, not when the generator is collected
        state = cam.get("BalanceWhiteAuto")
        for channel in ("Red", "Green", "Blue"):
            cam.set("BalanceRatioSelector", channel)
            typer.echo(f"BalanceRatio[{channel}]={cam.get('BalanceRatio')}")
    if state != "Off":
        raise _fail(f"white balance did not settle within {frames} frames")


@app.command()
def save(address: str = ADDRESS, file: Path = typer.Argument(...), port: int = PORT) -> None:
    """Save every writable feature to a feature file (Name=value lines)."""
    from openpss.protocols.gige_vision.nodemap import save_features

    with _camera(address, port) as cam:
        text = save_features(cam.node_map)
    file.write_text(text)
    typer.echo(f"saved {text.count(chr(10)) - 1} features to {file}")


@app.command()
def load(address: str = ADDRESS, file: Path = typer.Argument(...), port: int = PORT) -> None:
    """Apply a feature file; reports every feature that could not be set."""
    from openpss.protocols.gige_vision.nodemap import load_features, parse_feature_file

    try:
        text = file.read_text()
        parse_feature_file(text)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    with _camera(address, port) as cam:
        problems = load_features(cam.node_map, text)
    for problem in problems:
        typer.echo(f"not set: {problem}", err=True)
    typer.echo(f"loaded {file} ({len(problems)} problem(s))")
    if problems:
        raise typer.Exit(1)


@app.command()
def ffc(
    address: str = ADDRESS,
    port: int = PORT,
    mode: str = typer.Option("point", help="point (PointToPoint) or plane16 (Plane16x16)"),
    frames: int = typer.Option(8, help="frames averaged for each field"),
    dark_exposure: float | None = typer.Option(None, help="ExposureTime (us) for the dark field"),
    yes: bool = typer.Option(False, "--yes", help="do not wait for Enter between the steps"),
    packet_size: int = PACKET,
    scene_port: int = typer.Option(
        0,
        help="virtual camera only: its --control-port, so that the lens is covered and pointed"
        " at a flat white target for you (`openpss device camera-io scene`)",
    ),
) -> None:
    """Guided flat-field calibration: dark field, bright field, compute, upload, enable."""
    from openpss.protocols.gige_vision import ffc as procedure

    if mode not in procedure.MODES:
        raise typer.BadParameter("--mode must be point or plane16")
    with _camera(address, port) as cam:
        try:
            with procedure.linear_capture(cam) as color:
                exposure = str(cam.get("ExposureTime"))
                _view(scene_port, "dark")
                _step(yes, "Step 1/2: cover the lens (dark field), then press Enter")
                if dark_exposure is not None:
                    cam.set("ExposureTime", str(dark_exposure))
                dark = procedure.capture(cam, frames, packet_size=packet_size, timeout=5)
                cam.set("ExposureTime", exposure)
                _view(scene_port, "flat")
                _step(
                    yes,
                    "Step 2/2: point at an evenly lit white target (bright field), press Enter",
                )
                bright = procedure.capture(cam, frames, packet_size=packet_size, timeout=5)
            procedure.upload(cam, mode, procedure.coefficients(dark, bright, mode, color=color))
        except procedure.CalibrationError as exc:
            raise _fail(str(exc)) from None
    _view(scene_port, "scene")
    typer.echo(f"FFC {procedure.MODES[mode]} coefficients loaded and enabled")


def _view(control_port: int, view: str) -> None:
    """Point a virtual camera at `view` through its control channel (no-op without a port)."""
    if not control_port:
        return
    from openpss.devices.camera.control import request

    try:
        reply = request(control_port, {"op": "scene", "view": view}, timeout=5.0)
    except OSError as exc:
        raise _fail(f"no camera control channel on 127.0.0.1:{control_port}: {exc}") from None
    if not reply.get("ok"):
        raise _fail(f"the camera did not change its view: {reply.get('error')}")
    typer.echo(f"(virtual camera now sees: {view})")


def _step(yes: bool, message: str) -> None:
    typer.echo(message)
    if not yes:
        input()


@app.command()
def events(
    address: str = ADDRESS,
    port: int = PORT,
    event: list[str] = typer.Option(["ExposureEnd"], help="EventSelector entries to enable"),
    duration: float = typer.Option(2.0, help="seconds to acquire and listen"),
    packet_size: int = PACKET,
) -> None:
    """Enable device events, acquire for a while and print what the message channel brings."""
    from openpss.protocols.gige_vision.messages import MessageChannelReceiver

    with _camera(address, port) as cam:
        for name in event:
            try:
                cam.set("EventSelector", name)
                cam.set("EventNotification", "On")
            except Exception as exc:
                raise _fail(f"cannot enable event {name}: {exc}") from None
        listener = MessageChannelReceiver(cam.client.local_address[0])
        try:
            listener.attach(cam.client)
            receiver = cam.start_stream(packet_size=packet_size)
            cam.execute("AcquisitionStart")
            end = time.monotonic() + duration
            while (left := end - time.monotonic()) > 0:
                for item, data in listener.receive(min(left, 0.05)):
                    extra = f" data={data.hex()}" if data else ""
                    typer.echo(
                        f"event 0x{item.event_id:04x} timestamp={item.timestamp} "
                        f"block={item.block_id}{extra}"
                    )
                with contextlib.suppress(queue.Empty):
                    receiver.release(receiver.get(timeout=0))
            cam.execute("AcquisitionStop")
        finally:
            listener.close()


CTI = typer.Option(None, "--cti", help="GenTL producer file(s); default GENICAM_GENTL64_PATH")


@app.command("gentl-list")
def gentl_list(cti: list[Path] | None = CTI) -> None:
    """List devices of GenTL producers (USB3 Vision and other transports, via harvesters)."""
    from openpss.protocols.gige_vision.gentl import list_devices, producers

    try:
        devices = list_devices(producers(cti))
    except (FileNotFoundError, OSError) as exc:
        raise _fail(str(exc)) from None
    for dev in devices:
        typer.echo(f"{dev.index}\t{dev.vendor}\t{dev.model}\t{dev.serial}\t{dev.id}\t{dev.tl_type}")


@app.command("gentl-acquire")
def gentl_acquire(
    device: int = typer.Option(0, help="device number from gentl-list"),
    count: int = typer.Option(3, help="frames to fetch"),
    output: Path | None = typer.Option(None, help="directory to save frames into (TIFF)"),
    cti: list[Path] | None = CTI,
) -> None:
    """Acquire frames from a GenTL device through harvesters."""
    import tifffile

    from openpss.protocols.gige_vision.gentl import acquire as gentl_grab
    from openpss.protocols.gige_vision.gentl import producers

    try:
        features, frames = gentl_grab(producers(cti), device, count)
    except (FileNotFoundError, IndexError, OSError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(" ".join(f"{k}={v}" for k, v in features.items()))
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
    for number, frame in enumerate(frames, start=1):
        line = f"frame {number} {frame.width}x{frame.height} {frame.pixel_format}"
        if output is not None:
            path = output / f"gentl_{number:04d}.tiff"
            tifffile.imwrite(path, frame.data)
            line += f" -> {path}"
        typer.echo(line)
