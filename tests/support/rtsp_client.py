"""A minimal blocking RTSP client for tests (digest auth, interleaved TCP), from RFC 2326."""

from __future__ import annotations

import hashlib
import re
import secrets
import socket


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class RtspTestClient:
    """One RTSP connection."""

    def __init__(self, port: int, user: str = "admin", password: str = "") -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.user, self.password = user, password
        self.cseq = 0
        self.nc = 0
        self.challenge: dict[str, str] | None = None
        self.session = ""
        self.buffer = b""

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()

    def url(self, subtype: int = 0) -> str:
        """The realmonitor URL."""
        return f"rtsp://127.0.0.1:{self.port}/cam/realmonitor?channel=1&subtype={subtype}"

    def request(self, method: str, uri: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        """Send a request (answering a digest challenge once) and read the response."""
        status, head, body = self._send(method, uri, headers)
        if status == 401 and self.password:
            self.challenge = dict(re.findall(r'(\w+)="([^"]*)"', head["www-authenticate"]))
            status, head, body = self._send(method, uri, headers)
        return status, head, body

    def _send(
        self, method: str, uri: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        self.cseq += 1
        lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self.cseq}"]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
        if self.session:
            lines.append(f"Session: {self.session}")
        if self.challenge:
            lines.append(self._authorization(method, uri))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return self.read_response()

    def _authorization(self, method: str, uri: str) -> str:
        assert self.challenge is not None
        self.nc += 1
        nc, cnonce = f"{self.nc:08x}", secrets.token_hex(8)
        realm, nonce = self.challenge["realm"], self.challenge["nonce"]
        ha1 = _md5(f"{self.user}:{realm}:{self.password}")
        response = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{_md5(f'{method}:{uri}')}")
        return (
            f'Authorization: Digest username="{self.user}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{response}", qop=auth, nc={nc}, cnonce="{cnonce}"'
        )

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("RTSP connection closed")
        self.buffer += chunk

    def read_response(self) -> tuple[int, dict[str, str], bytes]:
        """Skip interleaved packets; return (status, headers, body)."""
        while True:
            while self.buffer.startswith(b"$"):
                if len(self.buffer) < 4:
                    self._fill()
                    continue
                size = int.from_bytes(self.buffer[2:4], "big")
                while len(self.buffer) < 4 + size:
                    self._fill()
                self.buffer = self.buffer[4 + size :]
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0 and not self.buffer.startswith(b"$"):
                break
            self._fill()
        head, self.buffer = self.buffer[:end].decode(), self.buffer[end + 4 :]
        lines = head.split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split(" ")[1]), headers, body

    def play(self, subtype: int = 0) -> int:
        """DESCRIBE, SETUP video over interleaved TCP, PLAY; the last status."""
        url = self.url(subtype)
        status, _, _ = self.request("DESCRIBE", url, Accept="application/sdp")
        if status != 200:
            return status
        status, headers, _ = self.request(
            "SETUP", url + "/trackID=0", Transport="RTP/AVP/TCP;unicast;interleaved=0-1"
        )
        if status != 200:
            return status
        self.session = headers["session"].split(";")[0]
        return self.request("PLAY", url + "/")[0]

    def read_packets(self, count: int) -> list[tuple[int, bytes]]:
        """``count`` interleaved packets (channel, data)."""
        packets: list[tuple[int, bytes]] = []
        while len(packets) < count:
            while len(self.buffer) < 4:
                self._fill()
            assert self.buffer[:1] == b"$", self.buffer[:20]
            size = int.from_bytes(self.buffer[2:4], "big")
            while len(self.buffer) < 4 + size:
                self._fill()
            packets.append((self.buffer[1], self.buffer[4 : 4 + size]))
            self.buffer = self.buffer[4 + size :]
        return packets
