"""Batched UDP receive with Linux `recvmmsg(2)` into a staging ring of fixed-size slots.

Python's `socket` module has no `recvmmsg` binding, and no library fits: the only PyPI package
found for it (pysockmmsg 0.0.2, 2021) is an unmaintained pre-release, and NumPy/asyncio offer
nothing batched. So this calls libc through `ctypes` (no new dependency): one syscall fills
up to `batch` slots of a NumPy array, each slot holding a datagram's header and payload;
anything longer than a slot spills into a shared overflow area so the reported length stays
exact. `ctypes` releases the GIL for the duration of the call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import socket
import struct
import sys

import numpy as np

logger = logging.getLogger(__name__)

MSG_WAITFORONE = 0x10000  # Linux: block for the first datagram only
OVERFLOW = 65536


class _IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_IoVec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _MsgHdr), ("msg_len", ctypes.c_uint)]


def _load_recvmmsg() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        func = libc.recvmmsg
    except (OSError, AttributeError):
        return None
    func.argtypes = [
        ctypes.c_int,
        ctypes.POINTER(_MMsgHdr),
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_void_p,
    ]
    func.restype = ctypes.c_int
    return func


_RECVMMSG = _load_recvmmsg()


def available() -> bool:
    """Whether this platform's libc provides recvmmsg."""
    return _RECVMMSG is not None


class BatchReceiver:
    """Receives up to `batch` datagrams per syscall into `slots[i, :lengths[i]]`."""

    def __init__(self, sock: socket.socket, *, slot_size: int, batch: int, timeout: float) -> None:
        if _RECVMMSG is None:
            raise OSError("recvmmsg is not available on this platform")
        self._func = _RECVMMSG
        self.sock = sock
        self.batch = batch
        self.slots = np.zeros((batch, slot_size), np.uint8)
        self._overflow = np.zeros(OVERFLOW, np.uint8)
        self._iov = (_IoVec * (2 * batch))()
        size = ctypes.sizeof(_MMsgHdr)
        self._raw = np.zeros(batch * size, np.uint8)
        self._msgs = (_MMsgHdr * batch).from_buffer(self._raw.data)
        # msg_len of every slot as one NumPy view, refreshed by each call.
        self.lengths = self._raw.view(np.uint32).reshape(batch, size // 4)[
            :, _MMsgHdr.msg_len.offset // 4
        ]
        base, step = self.slots.ctypes.data, self.slots.strides[0]
        for i in range(batch):
            self._iov[2 * i].iov_base = base + i * step
            self._iov[2 * i].iov_len = slot_size
            self._iov[2 * i + 1].iov_base = self._overflow.ctypes.data
            self._iov[2 * i + 1].iov_len = OVERFLOW
            hdr = self._msgs[i].msg_hdr
            hdr.msg_iov = ctypes.cast(
                ctypes.byref(self._iov, 2 * i * ctypes.sizeof(_IoVec)), ctypes.POINTER(_IoVec)
            )
            hdr.msg_iovlen = 2
        # A blocking descriptor with SO_RCVTIMEO: the wait for the first datagram is bounded
        # inside the same syscall (the kernel's own recvmmsg timeout is only checked between
        # datagrams, so it cannot bound an idle wait).
        sock.setblocking(True)
        seconds = int(timeout)
        micros = round((timeout - seconds) * 1e6) or (0 if seconds else 1)  # 0/0: no timeout
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", seconds, micros))
        self._fd = sock.fileno()

    def receive(self) -> int:
        """Datagrams received (0 on timeout); raises OSError once the socket is unusable."""
        n = self._func(self._fd, self._msgs, self.batch, MSG_WAITFORONE, None)
        if n >= 0:
            return int(n)
        err = ctypes.get_errno()
        if err in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
            return 0
        raise OSError(err, os.strerror(err))

    def length(self, index: int) -> int:
        """Byte length of datagram `index` of the last batch."""
        return int(self.lengths[index])


__all__ = ["MSG_WAITFORONE", "BatchReceiver", "available"]
