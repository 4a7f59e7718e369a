"""The microphone stand-in of the VTO and VTH: a tone, or a sound file decoded by PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from openpss.protocols.rtp import g711


class AudioSource:
    """16-bit 8 kHz mono samples: a tone, or a file decoded and resampled by PyAV, looped."""

    def __init__(self, path: Path | None = None, *, tone_hz: float = 440.0) -> None:
        self.samples = load_audio(path) if path is not None else None
        self.tone_hz = tone_hz
        self.position = 0

    def next_packet(self) -> np.ndarray:
        """The next 20 ms of samples."""
        count = g711.SAMPLES_PER_PACKET
        if self.samples is None or not len(self.samples):
            chunk = g711.tone(self.tone_hz, self.position, count)
        else:
            chunk = self.samples[(np.arange(count) + self.position) % len(self.samples)]
        self.position += count
        return chunk


def load_audio(path: Path) -> np.ndarray:
    """A sound file as 8 kHz mono 16-bit samples; a clear ValueError when it has none."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=g711.CLOCK_RATE)
    chunks = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(audio=0):
                chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]  # the tail
    except (av.FFmpegError, OSError, IndexError) as exc:
        raise ValueError(f"{path} is not a readable audio file: {exc}") from exc
    if not chunks:
        raise ValueError(f"{path} holds no audio")
    return np.concatenate(chunks).astype(np.int16)
