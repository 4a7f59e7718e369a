"""Users, credentials and records over the Dahua CGI API (access/attendance device subset).

- ``AccessUser.cgi`` POST ``insertMulti`` (same user ID overwrites, credentials kept) /
  ``updateMulti`` (users must exist) with ``{"UserList": [{"UserID": "1",
  "UserName": "Ann", "Authority": 1 (admin) | 2 (user), "Password": "1234", "Department": 1,
  "ScheduleMode": "Department" | "Personal", "ValidFrom": "2026-01-01 00:00:00",
  "ValidTo": "2036-12-31 23:59:59"}]}`` (validity in device wall time; outside it the user is
  refused with ErrorCode 0x14); ``removeMulti&UserIDList[0]=1``;
  ``removeAll``; ``startFind[&Condition.UserID=1]`` -> ``{"Token", "Total"}``,
  ``doFind&Token=&Offset=&Count=`` -> ``{"Info": [...]}``, ``stopFind&Token=``.
- ``AccessCard.cgi`` the same with ``{"CardList": [{"UserID", "CardNo", "CardType": 0,
  "CardStatus": 0}]}`` and ``removeMulti&CardNoList[0]=``; updateMulti moves a card. CardType 5
  is a duress card (opens and raises the ``Duress`` event); other types are general cards.
- ``AccessFingerprint.cgi`` the same with ``{"FingerprintList": [{"UserID", "FingerprintData":
  ["<base64 template>", ...]}]}`` (insert appends, update replaces; at most 3 per user).
- ``AccessFace.cgi``: answered with an Error, this terminal has no face reader.
- ``recordUpdater.cgi?action=insert&name=AccessControlCard&CardNo=&UserID=&CardName=&Password=``
  -> ``RecNo=<user id>``; ``remove&name=AccessControlCard&CardNo=``.
- ``recordFinder.cgi?action=find&name=AccessControlCardRec&StartTime=&EndTime=&count=``
  (times: UTC epoch seconds, or device wall time ``YYYY-MM-DD HH:MM:SS``) and the
  ``factory.create``/``startFind``/``doFind``/``destroy`` form. Incremental pulls:
  ``condition.RecNoAfter=N`` (or ``RecNoAfter=N``) returns only records with ``RecNo > N``.
  Record fields (sorted, as devices send them): AttendanceState (1 CheckIn, 2 BreakOut,
  3 BreakIn, 4 CheckOut, 5 OvertimeIn, 6 OvertimeOut), CardName, CardNo, CreateTime (UTC
  epoch), CardType (5 duress), Door, ErrorCode (0, or why it was refused), Method (0 password,
  1 card, 6 fingerprint), Reason (refused only), ReaderID, RecNo, Status (1 success, 0 refused),
  Type (Entry, or Exit for the "out" states), UserID. Refused attempts (unknown card, outside
  validity, method not allowed, repeat) are records too. See
  ``openpss.protocols.dahua_http.records`` for the value sets.

Every write is all-or-nothing; at most ``MAX_BATCH`` entries per call.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from starlette.responses import Response

from openpss.devices.attendance.entities import record_fields as entity_record_fields
from openpss.devices.attendance.model import (
    Punch,
    Terminal,
    TerminalError,
    User,
    check_user_id,
    normalize_card,
)
from openpss.devices.common.access import MAX_BATCH, batch_entries, decode_templates
from openpss.protocols.dahua_http.codec import RecordPage, parse_indexed_params
from openpss.protocols.dahua_http.records import CARD_TYPE_DURESS, CARD_TYPE_GENERAL
from openpss.protocols.dahua_http.server import (
    CgiError,
    CgiHandler,
    CgiRequest,
    json_response,
    kv_response,
    ok_response,
)

MAX_FIND_COUNT = 1024  # records per recordFinder find/doFind answer
MAX_FIND_SESSIONS = 16
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
AUTHORITY = {"admin": 1, "user": 2}
SCHEDULE_MODES = {"department": "Department", "personal": "Personal"}


@dataclass
class FindSession:
    """A startFind / factory.create cursor."""

    items: list[Any]
    offset: int = 0


def _user_json(user: User) -> dict[str, Any]:
    entry = {
        "UserID": str(user.user_id),
        "UserName": user.name,
        "UserType": 0,
        "Authority": AUTHORITY[user.level],
        "Password": user.password,
        "Department": user.department,
        "ScheduleMode": SCHEDULE_MODES[user.schedule_mode],
    }
    for key, value in (("ValidFrom", user.valid_from), ("ValidTo", user.valid_to)):
        if value is not None:
            entry[key] = value.strftime(TIME_FORMAT)
    return entry


def _card_rows(user: User) -> list[dict[str, Any]]:
    return [
        {"UserID": str(user.user_id), "CardNo": c, "CardType": user.card_type(c), "CardStatus": 0}
        for c in user.cards
    ]


def _validity(entry: dict[str, Any], key: str, current: dt.datetime | None) -> dt.datetime | None:
    """ValidFrom / ValidTo as device wall time ("" clears it); absent keeps the current value."""
    if key not in entry:
        return current
    text = str(entry[key] or "").strip()
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, TIME_FORMAT)
    except ValueError as exc:
        raise TerminalError(f"{key} must be YYYY-MM-DD HH:MM:SS, not {text[:32]!r}") from exc


def _fp_json(user: User) -> dict[str, Any]:
    return {
        "UserID": str(user.user_id),
        "Count": len(user.fingerprints),
        "FingerprintData": [base64.b64encode(fp).decode() for fp in user.fingerprints],
    }


def _user_from_json(entry: dict[str, Any], base: User | None) -> User:
    user_id = check_user_id(entry.get("UserID", ""))
    user = base or User(user_id=user_id)
    authority = entry.get("Authority", AUTHORITY[user.level])
    levels = {v: k for k, v in AUTHORITY.items()}
    modes = {v.lower(): k for k, v in SCHEDULE_MODES.items()}
    try:
        level = levels[int(authority)]
        mode = modes[str(entry.get("ScheduleMode", SCHEDULE_MODES[user.schedule_mode])).lower()]
        department = int(entry.get("Department", user.department))
    except (KeyError, ValueError) as exc:
        raise TerminalError(
            f"user {user_id}: Authority is 1 (admin) or 2 (user), ScheduleMode Department or "
            "Personal, Department a number"
        ) from exc
    return replace(
        user,
        name=str(entry.get("UserName", user.name)),
        level=level,
        password=str(entry.get("Password", user.password)),
        schedule_mode=mode,
        department=department,
        valid_from=_validity(entry, "ValidFrom", user.valid_from),
        valid_to=_validity(entry, "ValidTo", user.valid_to),
    )


def parse_find_time(text: str, terminal: Terminal) -> dt.datetime:
    """UTC epoch seconds, or the device's wall time ``YYYY-MM-DD HH:MM:SS``."""
    out_of_range = CgiError(f"time {text!r} is out of range (years 1-9999)")
    if text.lstrip("-").isdigit():
        try:
            return dt.datetime.fromtimestamp(int(text), dt.UTC)
        except (OverflowError, OSError, ValueError) as exc:  # beyond what a datetime holds
            raise out_of_range from exc
    try:
        local = dt.datetime.strptime(text, TIME_FORMAT)
    except ValueError as exc:
        raise CgiError(f"time {text!r} is neither epoch seconds nor YYYY-MM-DD HH:MM:SS") from exc
    try:
        return terminal.to_utc(local)
    except OverflowError as exc:  # the time zone shift leaves year 1 or 9999
        raise out_of_range from exc


def record_fields(punch: Punch, terminal: Terminal) -> dict[str, str]:
    """One punch as recordFinder fields."""
    return entity_record_fields(punch, terminal.users.get(punch.user_id))


class AccessHandlers:
    """The CGI handlers for users, credentials and records."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self._sessions: OrderedDict[int, FindSession] = OrderedDict()
        self._tokens = itertools.count(1)

    def handlers(self) -> dict[str, CgiHandler]:
        """CGI name -> handler."""
        return {
            "AccessUser": self.access_user,
            "AccessCard": self.access_card,
            "AccessFingerprint": self.access_fingerprint,
            "AccessFace": self.access_face,
            "recordUpdater": self.record_updater,
            "recordFinder": self.record_finder,
        }

    # --- find sessions -------------------------------------------------------------------

    def _open(self, items: list[Any]) -> int:
        token = next(self._tokens)
        self._sessions[token] = FindSession(items)
        while len(self._sessions) > MAX_FIND_SESSIONS:
            self._sessions.popitem(last=False)
        return token

    def _session(self, call: CgiRequest, key: str) -> tuple[int, FindSession]:
        try:
            token = int(call.require(key))
            return token, self._sessions[token]
        except (ValueError, KeyError) as exc:
            raise CgiError(f"Unknown or expired {key}; call startFind again") from exc

    def _count(self, call: CgiRequest, key: str, default: int) -> int:
        try:
            count = int(call.params.get(key, default))
        except ValueError as exc:
            raise CgiError(f"{key} must be an integer") from exc
        if not 1 <= count <= MAX_FIND_COUNT:
            raise CgiError(f"{key} must be 1-{MAX_FIND_COUNT}")
        return count

    async def _json_find(
        self, call: CgiRequest, rows: Callable[[], list[dict[str, Any]]]
    ) -> Response:
        if call.action == "startFind":
            items = rows()
            return json_response({"Token": self._open(items), "Total": len(items)})
        if call.action == "doFind":
            _, session = self._session(call, "Token")
            offset_text = call.params.get("Offset", str(session.offset))
            if not offset_text.isdigit():
                raise CgiError("Offset must be a non-negative integer")
            offset = int(offset_text)
            count = self._count(call, "Count", 100)
            page = session.items[offset : offset + count]
            session.offset = offset + len(page)
            return json_response({"Info": page})
        if call.action == "stopFind":
            token, _ = self._session(call, "Token")
            del self._sessions[token]
            return ok_response()
        raise CgiError("Bad Request!")

    # --- AccessUser ----------------------------------------------------------------------

    async def access_user(self, call: CgiRequest) -> Response:
        """Users: insertMulti, updateMulti, removeMulti, removeAll, startFind/doFind/stopFind."""
        t = self.terminal
        try:
            if call.action in ("insertMulti", "updateMulti"):
                entries = batch_entries(await call.json_body(), "UserList")
                update = call.action == "updateMulti"
                users = [self._user_entry(e) for e in entries]
                t.put_users(users, update_only=update)
                return ok_response()
            if call.action == "removeMulti":
                ids = await self._id_list(call, "UserIDList")
                t.remove_users(int(check_user_id(i)) for i in ids)
                return ok_response()
            if call.action == "removeAll":
                t.remove_users(list(t.users))
                return ok_response()
        except TerminalError as exc:
            raise CgiError(str(exc)) from exc
        return await self._json_find(call, self._user_rows(call))

    def _user_entry(self, entry: dict[str, Any]) -> User:
        """A user from JSON; an existing user keeps the fields (and credentials) not given."""
        user_id = check_user_id(entry.get("UserID", ""))
        return _user_from_json(entry, self.terminal.users.get(user_id))

    def _user_rows(self, call: CgiRequest) -> Callable[[], list[dict[str, Any]]]:
        wanted = call.params.get("Condition.UserID")

        def rows() -> list[dict[str, Any]]:
            users = sorted(self.terminal.users.values(), key=lambda u: u.user_id)
            return [_user_json(u) for u in users if wanted is None or str(u.user_id) == wanted]

        return rows

    async def _id_list(self, call: CgiRequest, key: str) -> list[str]:
        ids = parse_indexed_params(call.params, key)
        if not ids and call.request.method == "POST":
            body = await call.json_body()
            ids = [str(i) for i in body.get(key, [])]
        if not ids:
            raise CgiError(f"Give {key}[0]=... (at most {MAX_BATCH})")
        if len(ids) > MAX_BATCH:
            raise CgiError(f"At most {MAX_BATCH} entries per call in {key}")
        return ids

    # --- AccessCard ----------------------------------------------------------------------

    async def access_card(self, call: CgiRequest) -> Response:
        """Cards: insertMulti, updateMulti, removeMulti, startFind/doFind/stopFind."""
        try:
            if call.action in ("insertMulti", "updateMulti"):
                entries = batch_entries(await call.json_body(), "CardList")
                self._put_cards(entries, move=call.action == "updateMulti")
                return ok_response()
            if call.action == "removeMulti":
                cards = [normalize_card(c) for c in await self._id_list(call, "CardNoList")]
                self._remove_cards(cards)
                return ok_response()
        except TerminalError as exc:
            raise CgiError(str(exc)) from exc
        return await self._json_find(call, self._card_rows(call))

    def _put_cards(self, entries: list[dict[str, Any]], *, move: bool) -> None:
        t = self.terminal
        changed: dict[int, User] = {}
        for entry in entries:
            user_id = check_user_id(entry.get("UserID", ""))
            card = normalize_card(str(entry.get("CardNo", "")))
            owner = t.card_owner.get(card)
            if owner is not None and owner != user_id:
                if not move:
                    raise TerminalError(f"card {card} already belongs to user {owner}")
                changed.setdefault(owner, replace(t.get_user(owner)))
                changed[owner].cards = [c for c in changed[owner].cards if c != card]
            user = changed.setdefault(user_id, replace(t.get_user(user_id)))
            if card not in user.cards:
                user.cards = [*user.cards, card]
            duress = str(entry.get("CardType", CARD_TYPE_GENERAL)).strip() == str(CARD_TYPE_DURESS)
            others = [c for c in user.duress_cards if c != card]
            user.duress_cards = [*others, card] if duress else others
        self._replace_all(changed)

    def _replace_all(self, changed: dict[int, User]) -> None:
        """Apply changed users; cards moving between users are released first."""
        t = self.terminal
        released = {c for u in changed.values() for c in t.users[u.user_id].cards}
        saved = {c: t.card_owner.pop(c) for c in released if c in t.card_owner}
        try:
            t.put_users(list(changed.values()), update_only=True)
        except TerminalError:
            t.card_owner.update(saved)
            raise

    def _remove_cards(self, cards: list[str]) -> None:
        t = self.terminal
        changed: dict[int, User] = {}
        for card in cards:
            owner = t.card_owner.get(card)
            if owner is None:
                raise TerminalError(f"card {card} is not registered")
            user = changed.setdefault(owner, replace(t.get_user(owner)))
            user.cards = [c for c in user.cards if c != card]
        self._replace_all(changed)

    def _card_rows(self, call: CgiRequest) -> Callable[[], list[dict[str, Any]]]:
        user_id = call.params.get("Condition.UserID")
        card_no = call.params.get("Condition.CardNo")

        def rows() -> list[dict[str, Any]]:
            result = []
            for user in sorted(self.terminal.users.values(), key=lambda u: u.user_id):
                if user_id is None or str(user.user_id) == user_id:
                    result += [
                        r
                        for r in _card_rows(user)
                        if card_no is None or r["CardNo"] == card_no.upper()
                    ]
            return result

        return rows

    # --- AccessFingerprint / AccessFace --------------------------------------------------

    async def access_fingerprint(self, call: CgiRequest) -> Response:
        """Fingerprints: insertMulti (append), updateMulti (replace), removeMulti, find, get."""
        t = self.terminal
        try:
            if call.action in ("insertMulti", "updateMulti"):
                entries = batch_entries(await call.json_body(), "FingerprintList")
                changed: dict[int, User] = {}
                for entry in entries:
                    user_id = check_user_id(entry.get("UserID", ""))
                    user = changed.setdefault(user_id, replace(t.get_user(user_id)))
                    templates = decode_templates(entry)
                    append = call.action == "insertMulti"
                    user.fingerprints = [*user.fingerprints, *templates] if append else templates
                t.put_users(list(changed.values()), update_only=True)
                return ok_response()
            if call.action == "removeMulti":
                ids = [check_user_id(i) for i in await self._id_list(call, "UserIDList")]
                users = [replace(t.get_user(i), fingerprints=[]) for i in ids]
                t.put_users(users, update_only=True)
                return ok_response()
            if call.action == "get":
                return json_response(_fp_json(t.get_user(check_user_id(call.require("UserID")))))
        except TerminalError as exc:
            raise CgiError(str(exc)) from exc
        wanted = call.params.get("Condition.UserID")
        return await self._json_find(
            call,
            lambda: [
                _fp_json(u)
                for u in sorted(t.users.values(), key=lambda u: u.user_id)
                if u.fingerprints and (wanted is None or str(u.user_id) == wanted)
            ],
        )

    async def access_face(self, call: CgiRequest) -> Response:
        """This terminal identifies by fingerprint, password and card only."""
        raise CgiError("Not supported: this attendance terminal has no face recognition")

    # --- recordUpdater (legacy cards) ----------------------------------------------------

    async def record_updater(self, call: CgiRequest) -> Response:
        """insert/update/remove of ``AccessControlCard`` records (card + user in one)."""
        if call.params.get("name") != "AccessControlCard":
            raise CgiError("name must be AccessControlCard")
        t = self.terminal
        try:
            if call.action in ("insert", "update"):
                user_id = check_user_id(call.require("UserID"))
                card = normalize_card(call.require("CardNo"))
                base = t.users.get(user_id) or User(user_id=user_id)
                user = replace(
                    base,
                    name=call.params.get("CardName", base.name),
                    password=call.params.get("Password", base.password),
                    cards=base.cards if card in base.cards else [*base.cards, card],
                )
                t.put_users([user])
                return kv_response({"RecNo": user_id})
            if call.action == "remove":
                self._remove_cards([normalize_card(call.require("CardNo"))])
                return ok_response()
        except TerminalError as exc:
            raise CgiError(str(exc)) from exc
        raise CgiError("Bad Request!")

    # --- recordFinder --------------------------------------------------------------------

    async def record_finder(self, call: CgiRequest) -> Response:
        """find, and factory.create / startFind / doFind / destroy, on AccessControlCardRec."""
        if call.action == "find":
            self._check_name(call)
            count = self._count(call, "count", MAX_FIND_COUNT)
            total, punches = self._find_punches(call.params, prefix="", limit=count)
            page = RecordPage([record_fields(p, self.terminal) for p in punches], total)
            return Response(str(page), media_type="text/plain")
        if call.action == "factory.create":
            self._check_name(call)
            return kv_response({"object": self._open([])})
        if call.action == "startFind":
            _, session = self._session(call, "object")
            session.items = self._find_punches(call.params, prefix="condition.")[1]
            session.offset = 0
            return kv_response({"totalCount": len(session.items)})
        if call.action == "doFind":
            _, session = self._session(call, "object")
            count = self._count(call, "count", 100)
            chunk = session.items[session.offset : session.offset + count]
            session.offset += len(chunk)
            page = RecordPage([record_fields(p, self.terminal) for p in chunk])
            return Response(str(page), media_type="text/plain")
        if call.action in ("destroy", "close", "stopFind"):
            token, _ = self._session(call, "object")
            del self._sessions[token]
            return ok_response()
        raise CgiError("Bad Request!")

    @staticmethod
    def _check_name(call: CgiRequest) -> None:
        if call.params.get("name") != "AccessControlCardRec":
            raise CgiError("name must be AccessControlCardRec")

    def _find_punches(
        self, params: dict[str, str], *, prefix: str, limit: int | None = None
    ) -> tuple[int, list[Punch]]:
        def get(key: str) -> str | None:
            return params.get(prefix + key) or params.get("condition." + key) or params.get(key)

        start, end = get("StartTime"), get("EndTime")
        after = get("RecNoAfter") or "0"
        if not after.isdigit():
            raise CgiError("RecNoAfter must be a record number")
        user_id = get("UserID")
        return self.terminal.find_punches(
            start=parse_find_time(start, self.terminal) if start else None,
            end=parse_find_time(end, self.terminal) if end else None,
            after_rec_no=int(after),
            user_id=int(user_id) if user_id and user_id.isdigit() else None,
            card_no=get("CardNo"),
            limit=limit,
        )
