"""Users, cards, fingerprints and records of the door station over the Dahua CGI API.

Same forms as the attendance terminal (the platform pushes to both with one client):

- ``AccessUser.cgi`` POST ``insertMulti`` / ``updateMulti`` with ``{"UserList": [{"UserID":
  "11", "UserName": "Room 11", "Password": "888888"}]}`` (the room's unlock password,
  platform 2.3), ``removeMulti&UserIDList[0]=11``, ``removeAll``; on all three
  ``startFind[&Condition.UserID=]`` -> ``{"Token", "Total"}``, ``doFind&Token=&Offset=&Count=``
  -> ``{"Info": [...]}``, ``stopFind&Token=``.
- ``AccessCard.cgi`` ``{"CardList": [{"UserID", "CardNo", "CardType": 0 | 5}]}`` (5 is a
  duress card, Dahua NetSDK card types), ``removeMulti&CardNoList[0]=``.
- ``AccessFingerprint.cgi`` ``{"FingerprintList": [{"UserID", "FingerprintData": [b64...],
  "DuressIndex": 1}]}`` (DuressIndex counts from 1; 0 or absent: none).
- ``recordFinder.cgi?action=find&name=AccessControlCardRec|VideoTalkLog|AlarmRecord&StartTime=
  &EndTime=&count=`` (UTC epoch seconds or ``YYYY-MM-DD HH:MM:SS`` UTC), ``RecNoAfter=N``.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from starlette.responses import Response

from openpss.devices.common.access import batch_entries, decode_templates
from openpss.devices.vto.entities import AccessUser, Record, VtoError
from openpss.devices.vto.model import DoorStation
from openpss.protocols.dahua_http.codec import RecordPage, parse_indexed_params
from openpss.protocols.dahua_http.server import (
    CgiError,
    CgiHandler,
    CgiRequest,
    json_response,
    ok_response,
)

MAX_FIND_COUNT = 1024
MAX_FIND_SESSIONS = 16  # open startFind cursors; the oldest is dropped beyond this
DURESS_CARD_TYPE = 5  # Dahua NetSDK: NET_ACCESSCTLCARD_TYPE 5 = duress card
RECORD_NAMES = {"AccessControlCardRec": "unlock", "VideoTalkLog": "call", "AlarmRecord": "alarm"}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_find_time(text: str) -> dt.datetime:
    """UTC epoch seconds or ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    if text.lstrip("-").isdigit():
        return dt.datetime.fromtimestamp(int(text), dt.UTC)
    try:
        return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise CgiError(f"time {text!r} is neither epoch seconds nor YYYY-MM-DD HH:MM:SS") from exc


def record_fields(record: Record) -> dict[str, str]:
    """A record as ``recordFinder`` fields, sorted as devices send them."""
    return {key: str(record.data[key]) for key in sorted(record.data)}


class AccessHandlers:
    """CGI handlers for users, cards, fingerprints and records."""

    def __init__(self, station: DoorStation) -> None:
        self.station = station
        self._sessions: dict[int, list[dict[str, Any]]] = {}
        self._tokens = itertools.count(1)

    def handlers(self) -> dict[str, CgiHandler]:
        """CGI name -> handler."""
        return {
            "AccessUser": self.access_user,
            "AccessCard": self.access_card,
            "AccessFingerprint": self.access_fingerprint,
            "recordFinder": self.record_finder,
        }

    def _apply(self, users: list[AccessUser]) -> None:
        """Validate every user against the result, then store them (all or nothing)."""
        station = self.station
        saved = dict(station.users)
        try:
            for user in users:
                station.put_user(user)
        except VtoError as exc:
            station.users = saved
            station.save_users()
            raise CgiError(str(exc)) from exc

    async def access_user(self, call: CgiRequest) -> Response:
        """insertMulti / updateMulti / removeMulti / removeAll / startFind+doFind."""
        users = self.station.users
        if call.action in ("insertMulti", "updateMulti"):
            entries = batch_entries(await call.json_body(), "UserList")
            changed = []
            for entry in entries:
                user_id = str(entry.get("UserID", "")).strip()
                base = users.get(user_id)
                if base is None and call.action == "updateMulti":
                    raise CgiError(f"user {user_id} does not exist")
                base = base or AccessUser(user_id)
                changed.append(
                    replace(
                        base,
                        name=str(entry.get("UserName", base.name)),
                        password=str(entry.get("Password", base.password)),
                    )
                )
            self._apply(changed)
            return ok_response()
        if call.action == "removeMulti":
            for user_id in parse_indexed_params(call.params, "UserIDList"):
                if user_id in users:
                    self.station.remove_user(user_id)
            return ok_response()
        if call.action == "removeAll":
            self.station.users = {}
            self.station.save_users()
            return ok_response()
        return self._find(call, self._user_rows)

    async def access_card(self, call: CgiRequest) -> Response:
        """insertMulti / updateMulti (moves a card) / removeMulti / removeAll."""
        users = self.station.users
        if call.action in ("insertMulti", "updateMulti"):
            entries = batch_entries(await call.json_body(), "CardList")
            changed: dict[str, AccessUser] = {}
            for entry in entries:
                card = str(entry.get("CardNo", "")).strip().upper()
                user_id = str(entry.get("UserID", "")).strip()
                for other in users.values():
                    if card in other.cards and other.user_id != user_id:
                        moved = changed.get(other.user_id) or replace(
                            other, cards=dict(other.cards)
                        )
                        moved.cards.pop(card)
                        changed[other.user_id] = moved
                base = changed.get(user_id) or users.get(user_id) or AccessUser(user_id)
                cards = dict(base.cards)
                cards[card] = int(entry.get("CardType", 0) or 0) == DURESS_CARD_TYPE
                changed[user_id] = replace(base, cards=cards)
            self._apply(list(changed.values()))
            return ok_response()
        if call.action == "removeMulti":
            wanted = {c.strip().upper() for c in parse_indexed_params(call.params, "CardNoList")}
            self._apply(
                [
                    replace(u, cards={c: d for c, d in u.cards.items() if c not in wanted})
                    for u in users.values()
                    if wanted & set(u.cards)
                ]
            )
            return ok_response()
        if call.action == "removeAll":
            self._apply([replace(u, cards={}) for u in users.values()])
            return ok_response()
        return self._find(call, self._card_rows)

    async def access_fingerprint(self, call: CgiRequest) -> Response:
        """insertMulti (appends) / updateMulti (replaces) / removeMulti."""
        users = self.station.users
        if call.action in ("insertMulti", "updateMulti"):
            entries = batch_entries(await call.json_body(), "FingerprintList")
            changed = []
            for entry in entries:
                user_id = str(entry.get("UserID", "")).strip()
                base = users.get(user_id) or AccessUser(user_id)
                templates = decode_templates(entry)
                keep = base.fingerprints if call.action == "insertMulti" else []
                duress = int(entry.get("DuressIndex", 0) or 0)
                index = len(keep) + duress - 1 if duress else base.duress_fingerprint
                changed.append(
                    replace(base, fingerprints=[*keep, *templates], duress_fingerprint=index)
                )
            self._apply(changed)
            return ok_response()
        if call.action == "removeMulti":
            ids = set(parse_indexed_params(call.params, "UserIDList"))
            self._apply(
                [
                    replace(u, fingerprints=[], duress_fingerprint=None)
                    for u in users.values()
                    if u.user_id in ids
                ]
            )
            return ok_response()
        return self._find(call, self._fingerprint_rows)

    # --- startFind / doFind / stopFind (the platform reads back what it pushed) ---------

    def _find(
        self, call: CgiRequest, rows: Callable[[str | None], list[dict[str, Any]]]
    ) -> Response:
        """``startFind[&Condition.UserID=]`` -> Token/Total, ``doFind``, ``stopFind``."""
        if call.action == "startFind":
            if len(self._sessions) >= MAX_FIND_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))  # the oldest cursor goes
            token = next(self._tokens)
            self._sessions[token] = rows(call.params.get("Condition.UserID"))
            return json_response({"Token": token, "Total": len(self._sessions[token])})
        if call.action in ("doFind", "stopFind"):
            token_text = call.require("Token")
            if not token_text.isdigit() or int(token_text) not in self._sessions:
                raise CgiError(f"unknown Token {token_text}: call startFind first")
            if call.action == "stopFind":
                del self._sessions[int(token_text)]
                return ok_response()
            offset, count = _int_param(call, "Offset", 0), _int_param(call, "Count", 100)
            found = self._sessions[int(token_text)]
            return json_response({"Info": found[offset : offset + min(count, MAX_FIND_COUNT)]})
        raise CgiError("Bad Request!")

    def _selected(self, user_id: str | None) -> list[AccessUser]:
        users = sorted(self.station.users.values(), key=lambda u: u.user_id)
        return [u for u in users if user_id is None or u.user_id == user_id]

    def _user_rows(self, user_id: str | None) -> list[dict[str, Any]]:
        return [
            {"UserID": u.user_id, "UserName": u.name, "Password": u.password}
            for u in self._selected(user_id)
        ]

    def _card_rows(self, user_id: str | None) -> list[dict[str, Any]]:
        return [
            {
                "UserID": u.user_id,
                "CardNo": card,
                "CardType": DURESS_CARD_TYPE if duress else 0,
                "CardStatus": 0,
            }
            for u in self._selected(user_id)
            for card, duress in u.cards.items()
        ]

    def _fingerprint_rows(self, user_id: str | None) -> list[dict[str, Any]]:
        return [
            {
                "UserID": u.user_id,
                "Count": len(u.fingerprints),
                "FingerprintData": [base64.b64encode(fp).decode() for fp in u.fingerprints],
                "DuressIndex": 0 if u.duress_fingerprint is None else u.duress_fingerprint + 1,
            }
            for u in self._selected(user_id)
            if u.fingerprints
        ]

    async def record_finder(self, call: CgiRequest) -> Response:
        """find on AccessControlCardRec, VideoTalkLog and AlarmRecord."""
        if call.action != "find":
            raise CgiError("Bad Request!")
        name = call.params.get("name", "")
        if name not in RECORD_NAMES:
            raise CgiError(f"name must be one of {', '.join(RECORD_NAMES)}")
        count_text = call.params.get("count", str(MAX_FIND_COUNT))
        if not count_text.isdigit() or not 1 <= int(count_text) <= MAX_FIND_COUNT:
            raise CgiError(f"count must be 1-{MAX_FIND_COUNT}")

        def get(key: str) -> str | None:
            return call.params.get(key) or call.params.get("condition." + key)

        after = get("RecNoAfter") or "0"
        if not after.isdigit():
            raise CgiError("RecNoAfter must be a record number")
        start, end = get("StartTime"), get("EndTime")
        records = self.station.find_records(
            RECORD_NAMES[name],
            start=parse_find_time(start) if start else None,
            end=parse_find_time(end) if end else None,
            after_rec_no=int(after),
        )
        page = RecordPage([record_fields(r) for r in records[: int(count_text)]], len(records))
        return Response(str(page), media_type="text/plain")


def _int_param(call: CgiRequest, key: str, default: int) -> int:
    text = call.params.get(key, str(default)) or str(default)
    if not text.isdigit():
        raise CgiError(f"{key} must be a non-negative integer, not {text!r}")
    return int(text)
