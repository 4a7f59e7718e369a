"""Async client for the Dahua CGI API (httpx + digest auth), for the platform's device adapter.

    async with DahuaClient("http://127.0.0.1:8081", "admin", "secret") as device:
        info = await device.device_info()                 # type, serial, firmware, vendor...
        await device.set_current_time(datetime.now())      # device wall time
        await device.insert_users([{"UserID": "1", "UserName": "Ann", "Authority": 2}])
        await device.insert_cards([{"UserID": "1", "CardNo": "A1B2C3"}])
        async for record in device.iter_records_after(0):  # incremental, by RecNo
            ...
        async for event in device.events(heartbeat=5):     # AccessControl events, heartbeats
            ...

Errors: ``DahuaAuthError`` (401), ``DahuaRequestError`` (``Error`` body; ``.reason`` is the
device's message, e.g. ``capacity full: ...``), ``DahuaConnectionError`` (offline/timeout).
Record times (``CreateTime``) are UTC epoch seconds; ``set/get_current_time`` use wall time.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from openpss.protocols.dahua_http.codec import (
    ConfigValue,
    ErrorBody,
    RecordPage,
    encode_value,
    is_error_body,
    parse_kv,
)
from openpss.protocols.dahua_http.events import EventPart, EventStreamDecoder

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_PAGE = 1000
MAX_BATCH = 100


class DahuaError(Exception):
    """Any failure talking to a Dahua device."""


class DahuaAuthError(DahuaError):
    """The device refused the credentials (HTTP 401)."""


class DahuaConnectionError(DahuaError):
    """The device could not be reached or timed out."""


class DahuaRequestError(DahuaError):
    """The device answered an ``Error`` body; ``reason`` is its message."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class DeviceInfo:
    """What the device manager shows about a device."""

    device_type: str
    serial: str
    software_version: str
    hardware_version: str
    vendor: str
    machine_name: str


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DahuaClient:
    """Async client for one device; use as an async context manager (or call ``aclose``)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.DigestAuth(username, password),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> DahuaClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # --- transport -----------------------------------------------------------------------

    async def request(
        self,
        cgi: str,
        action: str,
        params: Mapping[str, ConfigValue] | None = None,
        *,
        json_body: object = None,
        timeout: float | None = None,
    ) -> str:
        """Call ``/cgi-bin/<cgi>.cgi?action=...``; the body text, or a DahuaError. `timeout`
        overrides the client's for calls that wait on purpose (enrolment captures)."""
        query = {"action": action, **{k: encode_value(v) for k, v in (params or {}).items()}}
        method = "POST" if json_body is not None else "GET"
        content = json.dumps(json_body).encode() if json_body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            response = await self._http.request(
                method,
                f"/cgi-bin/{cgi}.cgi",
                params=query,
                content=content,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.HTTPError as exc:
            raise DahuaConnectionError(f"{self.base_url}: {exc}") from exc
        return self._check(response)

    @staticmethod
    def _check(response: httpx.Response) -> str:
        text = response.text
        if response.status_code == 401:
            raise DahuaAuthError(ErrorBody.parse(text).reason if is_error_body(text) else text)
        if response.status_code >= 400 or is_error_body(text):
            reason = ErrorBody.parse(text).reason if is_error_body(text) else text.strip()
            raise DahuaRequestError(response.status_code, reason)
        return text

    async def kv(
        self, cgi: str, action: str, params: Mapping[str, ConfigValue] | None = None
    ) -> dict[str, str]:
        """A call answered with key=value lines."""
        return parse_kv(await self.request(cgi, action, params))

    async def _json(
        self,
        cgi: str,
        action: str,
        params: Mapping[str, ConfigValue] | None = None,
        body: object = None,
    ) -> Any:
        return json.loads(await self.request(cgi, action, params, json_body=body))

    async def _ok(
        self,
        cgi: str,
        action: str,
        params: Mapping[str, ConfigValue] | None = None,
        body: object = None,
    ) -> None:
        text = await self.request(cgi, action, params, json_body=body)
        if text.strip() != "OK":
            raise DahuaRequestError(200, f"expected OK, got {text.strip()[:80]!r}")

    # --- identity, time, config ----------------------------------------------------------

    async def magic_box(self, action: str) -> dict[str, str]:
        """Any ``magicBox.cgi`` getter."""
        return await self.kv("magicBox", action)

    async def device_info(self) -> DeviceInfo:
        """Type, serial, firmware, hardware, vendor and machine name."""
        version = (await self.magic_box("getSoftwareVersion"))["version"]
        return DeviceInfo(
            device_type=(await self.magic_box("getDeviceType"))["type"],
            serial=(await self.magic_box("getSerialNo"))["sn"],
            software_version=version,
            hardware_version=(await self.magic_box("getHardwareVersion"))["version"],
            vendor=(await self.magic_box("getVendor"))["vendor"],
            machine_name=(await self.magic_box("getMachineName"))["name"],
        )

    async def get_system_info(self) -> dict[str, str]:
        """``magicBox.cgi?action=getSystemInfo``."""
        return await self.magic_box("getSystemInfo")

    async def reboot(self) -> None:
        """``magicBox.cgi?action=reboot``."""
        await self._ok("magicBox", "reboot")

    async def snapshot(self, channel: int = 1) -> bytes:
        """``snapshot.cgi?channel=N``: a JPEG of the channel's picture."""
        try:
            response = await self._http.get(
                "/cgi-bin/snapshot.cgi", params={"channel": str(channel)}
            )
        except httpx.HTTPError as exc:
            raise DahuaConnectionError(f"{self.base_url}: {exc}") from exc
        if response.status_code != 200:
            self._check(response)
            raise DahuaRequestError(response.status_code, "snapshot refused")
        return response.content

    async def get_current_time(self) -> dt.datetime:
        """The device wall time (naive)."""
        answer = await self.kv("global", "getCurrentTime")
        return dt.datetime.strptime(answer["result"], TIME_FORMAT)

    async def set_current_time(self, local: dt.datetime) -> None:
        """Set the device wall time (naive, the device's own zone)."""
        await self._ok("global", "setCurrentTime", {"time": local.strftime(TIME_FORMAT)})

    async def get_config(self, name: str) -> dict[str, str]:
        """``table.<name>...`` lines as a dict (keys keep the ``table.`` prefix)."""
        return await self.kv("configManager", "getConfig", {"name": name})

    async def set_config(self, values: Mapping[str, ConfigValue]) -> None:
        """``setConfig`` with ``Name.Field=value`` pairs (all applied or none)."""
        await self._ok("configManager", "setConfig", values)

    # --- users and credentials -----------------------------------------------------------

    async def insert_users(self, users: list[dict[str, Any]], batch: int = MAX_BATCH) -> None:
        """``AccessUser.cgi insertMulti`` (same UserID overwrites), in batches."""
        for chunk in _chunks(users, batch):
            await self._ok("AccessUser", "insertMulti", body={"UserList": chunk})

    async def update_users(self, users: list[dict[str, Any]], batch: int = MAX_BATCH) -> None:
        """``AccessUser.cgi updateMulti`` (users must exist)."""
        for chunk in _chunks(users, batch):
            await self._ok("AccessUser", "updateMulti", body={"UserList": chunk})

    async def remove_users(self, user_ids: list[str], batch: int = MAX_BATCH) -> None:
        """``AccessUser.cgi removeMulti`` (cards and fingerprints go with the user)."""
        for chunk in _chunks(user_ids, batch):
            await self._ok(
                "AccessUser", "removeMulti", {f"UserIDList[{i}]": u for i, u in enumerate(chunk)}
            )

    async def remove_all_users(self) -> None:
        """``AccessUser.cgi removeAll``."""
        await self._ok("AccessUser", "removeAll")

    async def insert_cards(self, cards: list[dict[str, Any]], batch: int = MAX_BATCH) -> None:
        """``AccessCard.cgi insertMulti`` (``UserID``, ``CardNo``)."""
        for chunk in _chunks(cards, batch):
            await self._ok("AccessCard", "insertMulti", body={"CardList": chunk})

    async def update_cards(self, cards: list[dict[str, Any]], batch: int = MAX_BATCH) -> None:
        """``AccessCard.cgi updateMulti`` (a card may move to another user)."""
        for chunk in _chunks(cards, batch):
            await self._ok("AccessCard", "updateMulti", body={"CardList": chunk})

    async def remove_cards(self, card_nos: list[str], batch: int = MAX_BATCH) -> None:
        """``AccessCard.cgi removeMulti``."""
        for chunk in _chunks(card_nos, batch):
            await self._ok(
                "AccessCard", "removeMulti", {f"CardNoList[{i}]": c for i, c in enumerate(chunk)}
            )

    async def insert_fingerprints(self, user_id: str, templates: list[bytes]) -> None:
        """``AccessFingerprint.cgi insertMulti``: add templates to a user."""
        await self._fingerprints("insertMulti", user_id, templates)

    async def update_fingerprints(self, user_id: str, templates: list[bytes]) -> None:
        """``AccessFingerprint.cgi updateMulti``: replace a user's templates."""
        await self._fingerprints("updateMulti", user_id, templates)

    async def _fingerprints(self, action: str, user_id: str, templates: list[bytes]) -> None:

        entry = {
            "UserID": user_id,
            "FingerprintData": [base64.b64encode(t).decode() for t in templates],
        }
        await self._ok("AccessFingerprint", action, body={"FingerprintList": [entry]})

    async def remove_fingerprints(self, user_ids: list[str]) -> None:
        """``AccessFingerprint.cgi removeMulti``: drop every template of these users."""
        await self._ok(
            "AccessFingerprint",
            "removeMulti",
            {f"UserIDList[{i}]": u for i, u in enumerate(user_ids)},
        )

    async def find(
        self, cgi: str, condition: Mapping[str, str] | None = None, page: int = 100
    ) -> list[dict[str, Any]]:
        """startFind / doFind... / stopFind on AccessUser, AccessCard or AccessFingerprint."""
        params = {f"Condition.{k}": v for k, v in (condition or {}).items()}
        started = await self._json(cgi, "startFind", params)
        token, total = started["Token"], int(started["Total"])
        found: list[dict[str, Any]] = []
        try:
            while len(found) < total:
                info = (
                    await self._json(
                        cgi, "doFind", {"Token": token, "Offset": len(found), "Count": page}
                    )
                )["Info"]
                if not info:
                    break
                found.extend(info)
        finally:
            await self._ok(cgi, "stopFind", {"Token": token})
        return found

    async def find_users(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Every user (or one)."""
        return await self.find("AccessUser", {"UserID": user_id} if user_id else None)

    async def find_cards(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Every card (or a user's)."""
        return await self.find("AccessCard", {"UserID": user_id} if user_id else None)

    async def find_fingerprints(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Fingerprint entries (``FingerprintData``: base64 templates)."""
        return await self.find("AccessFingerprint", {"UserID": user_id} if user_id else None)

    async def capture_card(self, wait: int = 30) -> str:
        """Enrolment: the number of the next card presented at the device (waits `wait` s)."""
        text = await self.request(
            "accessControl", "captureCard", {"timeout": wait}, timeout=wait + 10
        )
        return str(parse_kv(text)["CardNo"])

    async def capture_fingerprint(self, wait: int = 30) -> bytes:
        """Enrolment: a template from a finger presented three times at the device."""
        answer = json.loads(
            await self.request(
                "accessControl", "captureFingerprint", {"timeout": wait}, timeout=wait + 10
            )
        )
        return base64.b64decode(answer["FingerprintData"])

    async def insert_card_legacy(
        self, *, card_no: str, user_id: str, name: str = "", password: str = ""
    ) -> int:
        """``recordUpdater.cgi?action=insert&name=AccessControlCard``; the RecNo."""
        answer = await self.kv(
            "recordUpdater",
            "insert",
            {
                "name": "AccessControlCard",
                "CardNo": card_no,
                "UserID": user_id,
                "CardName": name,
                "Password": password,
            },
        )
        return int(answer["RecNo"])

    # --- records -------------------------------------------------------------------------

    async def find_records(
        self,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        after_rec_no: int | None = None,
        count: int = DEFAULT_PAGE,
        name: str = "AccessControlCardRec",
    ) -> RecordPage:
        """One ``recordFinder.cgi?action=find&name=...`` page (oldest first): access records, or
        a door station's ``AlarmRecord`` / ``VideoTalkLog``."""
        params: dict[str, ConfigValue] = {"name": name, "count": count}
        if start is not None:
            params["StartTime"] = int(start.timestamp())
        if end is not None:
            params["EndTime"] = int(end.timestamp())
        if after_rec_no is not None:
            params["condition.RecNoAfter"] = after_rec_no
        return RecordPage.parse(await self.request("recordFinder", "find", params))

    async def iter_records_after(
        self, rec_no: int, page: int = DEFAULT_PAGE
    ) -> AsyncIterator[dict[str, str]]:
        """Every record with RecNo > rec_no, oldest first, paging by record number."""
        while True:
            result = await self.find_records(after_rec_no=rec_no, count=page)
            for record in result.records:
                yield record
            if not result.records or len(result.records) < page:
                return
            rec_no = int(result.records[-1]["RecNo"])

    async def find_records_factory(
        self, condition: Mapping[str, ConfigValue], page: int = 100
    ) -> list[dict[str, str]]:
        """The factory.create / startFind / doFind / destroy form."""
        created = await self.kv("recordFinder", "factory.create", {"name": "AccessControlCardRec"})
        handle = created["object"]
        records: list[dict[str, str]] = []
        try:
            await self.request(
                "recordFinder",
                "startFind",
                {"object": handle, **{f"condition.{k}": v for k, v in condition.items()}},
            )
            while True:
                chunk = RecordPage.parse(
                    await self.request("recordFinder", "doFind", {"object": handle, "count": page})
                ).records
                records.extend(chunk)
                if len(chunk) < page:
                    return records
        finally:
            await self._ok("recordFinder", "destroy", {"object": handle})

    # --- events --------------------------------------------------------------------------

    async def events(
        self, codes: Iterable[str] = ("All",), heartbeat: int | None = None
    ) -> AsyncIterator[EventPart]:
        """Attach to the event stream; yields events (and heartbeats) until closed."""
        params = {"action": "attach", "codes": "[" + ",".join(codes) + "]"}
        if heartbeat is not None:
            params["heartbeat"] = str(heartbeat)
        timeout = httpx.Timeout(self._http.timeout.connect, read=None)
        if heartbeat is not None:
            timeout = httpx.Timeout(self._http.timeout.connect, read=3.0 * heartbeat)
        decoder = EventStreamDecoder()
        try:
            async with self._http.stream(
                "GET", "/cgi-bin/eventManager.cgi", params=params, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    self._check(
                        httpx.Response(response.status_code, content=await response.aread())
                    )
                async for chunk in response.aiter_bytes():
                    for part in decoder.feed(chunk):
                        yield part
        except httpx.HTTPError as exc:
            raise DahuaConnectionError(f"{self.base_url}: event stream: {exc}") from exc
