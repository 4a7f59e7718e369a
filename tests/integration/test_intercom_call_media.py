"""``DeviceMedia``: the device's RTP leg of a console call, over real UDP on loopback.

H.264 RTP made by the door station's own encoder and packetizer is decoded into pictures,
the snapshot and the MP4 recording (with the door's sound as AAC); PCMU goes both ways; the
mute switches act.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import numpy as np

from openpss.devices.vto.media import H264Encoder
from openpss.platform.intercom.webrtc import DeviceMedia, Recorder
from openpss.protocols.rtp import g711
from openpss.protocols.rtp.codec import RtpPacket
from openpss.protocols.rtp.h264 import packetize
from tests.support.polling import eventually_async

WIDTH, HEIGHT = 160, 96


class _Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.packets.append(data)


def door_offer(audio_port: int) -> bytes:
    lines = [
        "v=0", "o=door 1 1 IN IP4 127.0.0.1", "s=door", "c=IN IP4 127.0.0.1", "t=0 0",
        f"m=audio {audio_port} RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000", "a=sendrecv",
        "m=video 40002 RTP/AVP 96", "a=rtpmap:96 H264/90000",
        "a=fmtp:96 packetization-mode=1", "a=sendrecv",
    ]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode()


async def test_door_video_becomes_pictures_snapshot_and_recording(tmp_path: Path) -> None:
    media = DeviceMedia("127.0.0.1")
    await media.open()
    media.snapshot_path = tmp_path / "call" / "snapshot.jpg"
    media.recorder = Recorder(tmp_path / "call" / "recording.mp4")
    loop = asyncio.get_running_loop()
    sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", 0))
    encoder = H264Encoder(WIDTH, HEIGHT, 10)
    sequence = 0
    for index in range(20):
        picture = np.full((HEIGHT, WIDTH, 3), index * 10, dtype=np.uint8)
        for unit in encoder.encode(picture):
            payloads = packetize(unit, mtu=300)  # FU-A fragments too
            for n, payload in enumerate(payloads):
                last = n == len(payloads) - 1
                packet = RtpPacket(96, sequence, index * 9000, 77, payload, last)
                sender.sendto(bytes(packet), ("127.0.0.1", media.port("video")))
                sequence += 1
        if index >= 2:  # sound once the first picture opened the file
            await eventually_async(
                lambda: media.counters["frames"] >= 1, what="the first picture", timeout=15.0
            )
            for k in range(5):
                samples = g711.tone(440, (index * 5 + k) * 160, 160)
                packet = RtpPacket(
                    0, index * 5 + k, (index * 5 + k) * 160, 78, g711.encode(samples)
                )
                sender.sendto(bytes(packet), ("127.0.0.1", media.port("audio")))
        await asyncio.sleep(0.01)
    sender.sendto(b"\x80\x60garbage", ("127.0.0.1", media.port("video")))
    await eventually_async(
        lambda: media.counters["frames"] >= 15, what="decoded pictures", timeout=15.0
    )
    await eventually_async(
        lambda: media.counters["audio_in"] == 90, what="the door's sound", timeout=15.0
    )
    sender.close()
    assert media.video_track.queue.qsize() > 0  # pictures for aiortc (transcoding path)
    await media.aclose()
    with av.open(str(media.snapshot_path)) as jpeg:
        frame = next(jpeg.decode(video=0))
        assert (frame.width, frame.height) == (WIDTH, HEIGHT)
    with av.open(str(tmp_path / "call" / "recording.mp4")) as mp4:
        stream = mp4.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in mp4.decode(video=0)) >= 15
    with av.open(str(tmp_path / "call" / "recording.mp4")) as mp4:
        assert mp4.streams.audio[0].codec_context.name == "aac"
        assert sum(f.samples for f in mp4.decode(audio=0)) >= 160 * 40


async def test_passthrough_hands_access_units_not_pictures(tmp_path: Path) -> None:
    media = DeviceMedia("127.0.0.1")
    await media.open()
    media.video_track.passthrough = True
    encoder = H264Encoder(WIDTH, HEIGHT, 10)
    for index in range(3):
        for unit in encoder.encode(np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)):
            payloads = packetize(unit)
            for n, payload in enumerate(payloads):
                packet = RtpPacket(96, index * 10 + n, index, 1, payload, n == len(payloads) - 1)
                media._on_video(bytes(packet))
    items = [media.video_track.queue.get_nowait() for _ in range(media.video_track.queue.qsize())]
    packets = [i for i in items if isinstance(i, av.Packet)]
    assert len(items) == len(packets) == 3
    assert bytes(packets[0]).startswith(b"\x00\x00\x00\x01")
    assert media.counters["frames"] == 0  # nothing decoded: no snapshot or recording asked
    await media.aclose()


async def test_pcmu_both_ways_and_the_mute_switches() -> None:
    loop = asyncio.get_running_loop()
    door_transport, door = await loop.create_datagram_endpoint(_Collect, ("127.0.0.1", 0))
    door_port = door_transport.get_extra_info("sockname")[1]
    media = DeviceMedia("127.0.0.1")
    await media.open()
    media.answer(door_offer(door_port))
    assert media.remote_audio == ("127.0.0.1", door_port)

    tone = g711.tone(440, 0, 160)
    media._send_audio(tone)
    media.mic_muted = True
    media._send_audio(tone)  # muted: nothing goes to the door
    await eventually_async(
        lambda: door.packets, what="the console's audio at the door", timeout=15.0
    )
    await asyncio.sleep(0.05)
    assert len(door.packets) == 1
    sent = RtpPacket.parse(door.packets[0])
    assert sent.payload_type == 0 and sent.payload == g711.encode(tone)

    media._on_audio(bytes(RtpPacket(0, 1, 160, 9, g711.encode(tone))))
    media._on_audio(bytes(RtpPacket(101, 2, 160, 9, b"\x01\x00\x00\xa0")))  # DTMF: not audio
    media.audio_track.muted = True
    frame = await media.audio_track.recv()
    assert media.counters["audio_in"] == 1
    assert (frame.sample_rate, frame.samples) == (8000, 160)
    assert not frame.to_ndarray().any()  # the device is muted: silence
    await media.aclose()
    door_transport.close()


async def test_random_datagrams_on_the_rtp_ports_are_dropped() -> None:
    rng = np.random.default_rng(13)
    media = DeviceMedia("127.0.0.1")
    await media.open()
    loop = asyncio.get_running_loop()
    sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", 0))
    for n in range(2000):
        size = int(rng.integers(0, 1500))
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        if n % 2 and size > 12:  # valid RTP headers around junk payloads reach the decoders
            data = bytes(RtpPacket(96 if n % 4 == 1 else 0, n, n, 5, data[12:], n % 8 == 1))
        kind = "video" if n % 4 in (0, 1) else "audio"
        sender.sendto(data, ("127.0.0.1", media.port(kind)))
        if n % 200 == 0:
            await asyncio.sleep(0)
    await eventually_async(
        lambda: media._backlog == 0, what="the decoder catching up", timeout=15.0
    )
    await asyncio.sleep(0.2)  # the flood has been read
    before = media.counters["audio_in"]
    tone = g711.encode(g711.tone(440, 0, 160))
    sender.sendto(bytes(RtpPacket(0, 1, 1, 6, tone)), ("127.0.0.1", media.port("audio")))
    await eventually_async(
        lambda: media.counters["audio_in"] == before + 1,
        what="the valid packet after it",
        timeout=15.0,
    )
    sender.close()
    await media.aclose()
