"""The attendance terminal's state and rules (manual chapter 2), with no I/O.

``Terminal`` holds users and their credentials, settings, punches and the administrator
operation log. Every limit of the manual is enforced with a ``TerminalError`` naming what to
fix. Persistence goes through the ``Persistence`` protocol (``store.py`` writes SQLite), and
events go to an ``on_event`` callback; the clock is injected so tests control time.

This module keeps the state and its changes; who a credential belongs to and whether it is
accepted is ``verification.py``, searches over the punches are ``queries.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from openpss.attendance.punches import (
    AttendanceState,
    EventModeConfig,
    is_repeat,
    punch_state,
)
from openpss.attendance.terminal import RuleError
from openpss.devices.attendance import queries, verification
from openpss.devices.attendance.entities import (
    MAX_CARD_NO_LENGTH,
    MAX_CARDS,
    MAX_FINGERPRINTS,
    MAX_NAME_LENGTH,
    MAX_TEMPLATE_BYTES,
    METHOD_CODES,
    AdminLogEntry,
    CapacityError,
    NotFoundError,
    Persistence,
    Punch,
    PunchResult,
    TerminalError,
    User,
    check_password,
    check_user_id,
    normalize_card,
    punch_event_data,
)
from openpss.devices.attendance.settings import DeviceSettings, SettingsError
from openpss.protocols.dahua_http.records import (
    CARD_TYPE_DURESS,
    ERROR_METHOD,
    ERROR_UNAUTHORIZED,
    ERROR_VALIDITY,
)

__all__ = [
    "METHOD_CODES",
    "AdminLogEntry",
    "CapacityError",
    "NotFoundError",
    "Punch",
    "PunchResult",
    "Terminal",
    "TerminalError",
    "User",
    "check_password",
    "check_user_id",
    "normalize_card",
]

logger = logging.getLogger(__name__)

USER_CAPACITY = 10_000  # registration capacity (SysInfo > Registration Info)
CARD_CAPACITY = 20_000
FINGERPRINT_CAPACITY = 10_000
RECORD_CAPACITY = 200_000  # the oldest punches are overwritten beyond this
ADMIN_LOG_CAPACITY = 10_000
REASON_LENGTH = 128  # refusal reasons kept with a record


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Terminal:
    """The attendance terminal: users, settings, punches, admin log."""

    def __init__(
        self,
        *,
        serial: str,
        store: Persistence | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.serial = serial
        self.store = store
        self.clock = clock
        self.on_event = on_event
        self.settings = DeviceSettings()
        self.users: dict[int, User] = {}
        self.card_owner: dict[str, int] = {}
        self.punches: list[Punch] = []
        self.next_rec_no = 1
        self.admin_log: list[AdminLogEntry] = []
        self.clock_offset_s = 0.0  # device clock minus host clock, set by setCurrentTime/NTP
        self.last_accepted: dict[int, dt.datetime] = {}
        self.extra: dict[str, Any] = {}  # shifts and schedules (schedule.py)

    # --- loading -------------------------------------------------------------------------

    def load(
        self,
        *,
        users: Iterable[User],
        settings: dict[str, Any],
        punches: Iterable[Punch],
        admin_log: Iterable[AdminLogEntry],
    ) -> None:
        """Restore state read back from persistence."""
        for user in users:
            self.users[user.user_id] = user
            for card in user.cards:
                self.card_owner[card] = user.user_id
        if "device" in settings:
            self.settings = DeviceSettings.from_json(settings["device"])
        self.clock_offset_s = float(settings.get("clock_offset_s", 0.0))
        self.extra = dict(settings.get("extra", {}))
        self.punches = sorted(punches, key=lambda p: p.rec_no)
        self.last_accepted = {p.user_id: p.at for p in self.punches if p.success}
        if self.punches:
            self.next_rec_no = self.punches[-1].rec_no + 1
        self.next_rec_no = max(self.next_rec_no, int(settings.get("next_rec_no", 1)))
        self.admin_log = list(admin_log)

    # --- time ----------------------------------------------------------------------------

    def now_utc(self) -> dt.datetime:
        """The device clock in UTC."""
        return self.clock() + dt.timedelta(seconds=self.clock_offset_s)

    def to_local(self, at: dt.datetime) -> dt.datetime:
        """Device wall time (naive) of a UTC instant: time zone plus DST."""
        standard = (at + dt.timedelta(minutes=self.settings.timezone_minutes)).replace(tzinfo=None)
        return standard + dt.timedelta(hours=1) if self.settings.dst.active(standard) else standard

    def to_utc(self, local: dt.datetime) -> dt.datetime:
        """UTC instant of a device wall time."""
        standard = local - dt.timedelta(minutes=self.settings.timezone_minutes)
        if self.settings.dst.active(local - dt.timedelta(hours=1)):
            standard -= dt.timedelta(hours=1)
        return standard.replace(tzinfo=dt.UTC)

    def local_now(self) -> dt.datetime:
        """The wall time shown on the standby screen."""
        return self.to_local(self.now_utc())

    def set_local_time(self, local: dt.datetime, *, actor: int = 0) -> None:
        """Set the device clock to this wall time (global.cgi setCurrentTime, Date Setup)."""
        target = self.to_utc(local)
        self.clock_offset_s = (target - self.clock()).total_seconds()
        self._save_runtime()
        self.log_admin(actor, f"set time {local:%Y-%m-%d %H:%M:%S}")

    def adjust_clock(self, true_utc: dt.datetime) -> None:
        """Set the clock from an NTP answer."""
        self.clock_offset_s = (true_utc - self.clock()).total_seconds()
        self._save_runtime()
        self.emit("NTPAdjustTime", {"Address": self.settings.ntp.address})

    # --- settings ------------------------------------------------------------------------

    def update_settings(
        self, change: Callable[[DeviceSettings], object], *, actor: int = 0, what: str = "settings"
    ) -> None:
        """Apply `change` to a copy of the settings, validate, then keep it (all or nothing)."""
        candidate = DeviceSettings.from_json(self.settings.to_json())
        try:
            change(candidate)
            candidate.validate()
        except SettingsError as exc:
            raise TerminalError(str(exc)) from exc
        self.settings = candidate
        if self.store:
            self.store.save_settings("device", candidate.to_json())
        self.log_admin(actor, f"change {what}")

    def rename_department(self, number: int, name: str, *, actor: int = 0) -> None:
        """Departments 1-20 cannot be deleted and names cannot be empty (manual 2.5.3)."""
        if not 1 <= number <= len(self.settings.departments):
            raise TerminalError(f"department must be 1-{len(self.settings.departments)}")
        if not name.strip():
            raise TerminalError("department names cannot be empty")
        if len(name) > MAX_NAME_LENGTH:
            raise TerminalError(f"department name must be at most {MAX_NAME_LENGTH} characters")

        def change(settings: DeviceSettings) -> None:
            settings.departments[number - 1] = name.strip()

        self.update_settings(change, actor=actor, what=f"department {number}")

    def save_extra(self, key: str, value: Any) -> None:
        """Keep another settings block (shifts, schedules) and persist it."""
        self.extra[key] = value
        if self.store:
            self.store.save_settings("extra", self.extra)

    def _save_runtime(self) -> None:
        if self.store:
            self.store.save_settings("clock_offset_s", self.clock_offset_s)

    # --- users ---------------------------------------------------------------------------

    def validate_user(self, user: User, *, replacing: User | None = None) -> User:
        """Check one user against the manual's limits; returns a normalized copy."""
        cards = [normalize_card(c) for c in user.cards]
        user = replace(
            user,
            cards=cards,
            duress_cards=[c for c in map(normalize_card, user.duress_cards) if c in cards],
            fingerprints=list(user.fingerprints),
        )
        check_user_id(user.user_id)
        if user.valid_from and user.valid_to and user.valid_from > user.valid_to:
            raise TerminalError(f"user {user.user_id}: ValidFrom must not be after ValidTo")
        if len(user.name) > MAX_NAME_LENGTH:
            raise TerminalError(
                f"user {user.user_id}: name must be at most {MAX_NAME_LENGTH} characters"
            )
        if not 1 <= user.department <= len(self.settings.departments):
            raise TerminalError(f"user {user.user_id}: department must be 1-20")
        if user.schedule_mode not in ("department", "personal"):
            raise TerminalError(
                f"user {user.user_id}: schedule mode must be department or personal"
            )
        if user.level not in ("user", "admin"):
            raise TerminalError(f"user {user.user_id}: level must be user or admin")
        try:
            check_password(user.password)
        except TerminalError as exc:
            raise TerminalError(f"user {user.user_id}: {exc}") from exc
        self._validate_credentials(user)
        return user

    def _validate_credentials(self, user: User) -> None:
        if len(user.cards) > MAX_CARDS:
            raise TerminalError(f"user {user.user_id}: a user can have at most {MAX_CARDS} cards")
        if len(set(user.cards)) != len(user.cards):
            raise TerminalError(f"user {user.user_id}: the same card is listed twice")
        for card in user.cards:
            owner = self.card_owner.get(card)
            if owner is not None and owner != user.user_id:
                raise TerminalError(f"card {card} already belongs to user {owner}")
        if len(user.fingerprints) > MAX_FINGERPRINTS:
            raise TerminalError(
                f"user {user.user_id}: a user can have at most {MAX_FINGERPRINTS} fingerprints"
            )
        for template in user.fingerprints:
            if not 1 <= len(template) <= MAX_TEMPLATE_BYTES:
                raise TerminalError(f"fingerprint templates are 1-{MAX_TEMPLATE_BYTES} bytes")

    def put_users(
        self,
        users: list[User],
        *,
        actor: int = 0,
        insert_only: bool = False,
        update_only: bool = False,
    ) -> None:
        """Add or overwrite users, all or nothing (same user ID overwrites)."""
        seen: set[int] = set()
        checked: list[User] = []
        pending_cards: dict[str, int] = {}
        for user in users:
            if user.user_id in seen:
                raise TerminalError(f"user {user.user_id} appears twice in one request")
            seen.add(user.user_id)
            exists = user.user_id in self.users
            if insert_only and exists:
                raise TerminalError(f"user {user.user_id} already exists")
            if update_only and not exists:
                raise NotFoundError(f"user {user.user_id} does not exist")
            valid = self.validate_user(user)
            for card in valid.cards:
                if pending_cards.setdefault(card, valid.user_id) != valid.user_id:
                    raise TerminalError(f"card {card} is given to two users in one request")
            checked.append(valid)
        self._check_capacity(checked)
        for user in checked:
            self._store_user(user)
        if self.store:
            self.store.save_users(checked)
        self.log_admin(actor, f"save {len(checked)} user(s)")

    def _check_capacity(self, incoming: list[User]) -> None:
        replaced = [self.users[u.user_id] for u in incoming if u.user_id in self.users]
        users = len(self.users) + len(incoming) - len(replaced)
        cards = (
            self.card_count()
            + sum(len(u.cards) for u in incoming)
            - sum(len(u.cards) for u in replaced)
        )
        fps = (
            self.fingerprint_count()
            + sum(len(u.fingerprints) for u in incoming)
            - sum(len(u.fingerprints) for u in replaced)
        )
        for what, used, capacity in (
            ("users", users, USER_CAPACITY),
            ("cards", cards, CARD_CAPACITY),
            ("fingerprints", fps, FINGERPRINT_CAPACITY),
        ):
            if used > capacity:
                raise CapacityError(f"capacity full: the device stores at most {capacity} {what}")

    def _store_user(self, user: User) -> None:
        old = self.users.get(user.user_id)
        if old is not None:
            for card in old.cards:
                self.card_owner.pop(card, None)
        self.users[user.user_id] = user
        for card in user.cards:
            self.card_owner[card] = user.user_id

    def remove_users(self, user_ids: Iterable[int], *, actor: int = 0) -> None:
        """Delete users and their credentials (unknown IDs are refused, nothing deleted)."""
        ids = [check_user_id(u) for u in user_ids]
        missing = [u for u in ids if u not in self.users]
        if missing:
            raise NotFoundError(f"user {missing[0]} does not exist")
        for user_id in ids:
            for card in self.users.pop(user_id).cards:
                self.card_owner.pop(card, None)
        if self.store:
            self.store.delete_users(ids)
        self.log_admin(actor, f"delete {len(ids)} user(s)")

    def get_user(self, user_id: int) -> User:
        """A user, or NotFoundError."""
        user = self.users.get(user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} does not exist")
        return user

    def card_count(self) -> int:
        """Cards stored."""
        return len(self.card_owner)

    def fingerprint_count(self) -> int:
        """Fingerprint templates stored."""
        return sum(len(u.fingerprints) for u in self.users.values())

    def has_admin(self) -> bool:
        """True once an administrator exists (then only administrators open the menu)."""
        return any(u.is_admin for u in self.users.values())

    def batch_add_card(self, card_no: str, *, actor: int = 0) -> User:
        """Add Cards in Batch: a swiped unknown card becomes a new user with the next free ID."""
        card = normalize_card(card_no)
        if card in self.card_owner:
            raise TerminalError(f"card {card} already belongs to user {self.card_owner[card]}")
        user_id = max(self.users, default=0) + 1
        user = User(user_id=user_id, cards=[card])
        self.put_users([user], actor=actor, insert_only=True)
        return self.users[user_id]

    # --- identification ------------------------------------------------------------------

    def identify(self, **credential: Any) -> tuple[User, str]:
        """The user a credential belongs to, and the method used (see verification.identify)."""
        return verification.identify(self.users, self.card_owner, **credential)

    def open_menu(self, **credential: Any) -> User | None:
        """Main menu access: anyone until an administrator exists, then administrators only."""
        if not self.has_admin():
            return None
        user, _ = self.identify(**credential)
        if not user.is_admin:
            raise TerminalError("only administrators can enter the main menu")
        return user

    # --- clocking in ---------------------------------------------------------------------

    def event_mode_config(self) -> EventModeConfig:
        """The engine's view of the attendance event mode settings."""
        return verification.event_mode_config(self.settings)

    def present(self, *, state: AttendanceState | None = None, **credential: Any) -> PunchResult:
        """Clock in with a card, fingerprint or ID + password (manual 2.14).

        A refused attempt is stored as a record too (Status 0 with ErrorCode and reason); a
        duress card is accepted and raises the Duress alarm event.
        """
        try:
            user, method = self.identify(**credential)
        except TerminalError as exc:
            return self._refuse(str(exc), None, credential)
        refusal = verification.method_refusal(self.settings, method)
        if refusal is not None:
            return self._refuse(refusal, user.user_id, credential, ERROR_METHOD)
        now = self.now_utc()
        local = self.to_local(now)
        if not user.valid_at(local):
            return self._refuse(
                "outside the user's validity period", user.user_id, credential, ERROR_VALIDITY
            )
        last = self.last_accepted.get(user.user_id)
        if is_repeat(last, now, self.settings.recheck_interval_min):
            return self._refuse("repeat clock in/out", user.user_id, credential)
        try:
            chosen = punch_state(self.event_mode_config(), local.time(), state)
        except RuleError as exc:
            return self._refuse(str(exc), user.user_id, credential)
        card_no = normalize_card(credential["card"]) if method == "card" else ""
        card_type = user.card_type(card_no) if card_no else 0
        punch = Punch(
            self.next_rec_no, now, local, user.user_id, method, card_no, chosen,
            card_type=card_type,
        )  # fmt: skip
        self._record(punch)
        self.last_accepted[user.user_id] = now
        if card_type == CARD_TYPE_DURESS:
            self._duress(punch)
        return PunchResult(
            True, f"{user.name or user.user_id}: {chosen.value}", punch, user.user_id
        )

    def _duress(self, punch: Punch) -> None:
        """A duress card opened: the silent alarm (Duress event) for the management centre."""
        logger.warning("duress card used by user %s (record %s)", punch.user_id, punch.rec_no)
        self.emit(
            "Duress",
            {
                "CardNo": punch.card_no,
                "RecNo": punch.rec_no,
                "UTC": int(punch.at.timestamp()),
                "UserID": str(punch.user_id),
            },
        )

    def _refuse(
        self,
        message: str,
        user_id: int | None,
        credential: dict[str, Any],
        error_code: int = ERROR_UNAUTHORIZED,
    ) -> PunchResult:
        """Store the refused attempt as a record (Status 0, ErrorCode, reason), publish it."""
        method = verification.credential_method(credential) or ""
        now = self.now_utc()
        card = str(credential.get("card") or "").strip().upper()[:MAX_CARD_NO_LENGTH]
        local = self.to_local(now)
        refused = Punch(self.next_rec_no, now, local, user_id or 0, method, card, None, False)
        self._record(replace(refused, error_code=error_code, reason=message[:REASON_LENGTH]))
        return PunchResult(False, message, None, user_id)

    def _record(self, punch: Punch) -> None:
        self.punches.append(punch)
        self.next_rec_no = punch.rec_no + 1
        if self.store:
            self.store.append_punches([punch])
        if len(self.punches) > RECORD_CAPACITY:
            drop = len(self.punches) - RECORD_CAPACITY
            self.punches = self.punches[drop:]
            if self.store:
                self.store.drop_punches_before(self.punches[0].rec_no)
        self.emit("AccessControl", punch_event_data(punch, self.users.get(punch.user_id)))

    def add_punches(self, punches: Iterable[tuple[dt.datetime, int, str, AttendanceState]]) -> int:
        """Append historical punches (UTC time, user, method, state) without the rules."""
        made = []
        for at, user_id, method, state in punches:
            made.append(Punch(self.next_rec_no, at, self.to_local(at), user_id, method, "", state))
            self.next_rec_no += 1
        self.punches.extend(made)
        if self.store:
            self.store.append_punches(made)
        return len(made)

    def user_punches(self, user_id: int) -> list[Punch]:
        """Query User ATT. Record (manual 2.6.1): the user's accepted punches."""
        self.get_user(user_id)
        return queries.user_punches(self.punches, user_id)

    def find_punches(self, **conditions: Any) -> tuple[int, list[Punch]]:
        """(total matching, first `limit`) of the punches (see queries.find_punches)."""
        return queries.find_punches(self.punches, **conditions)

    # --- events and log ------------------------------------------------------------------

    def emit(self, code: str, data: dict[str, Any]) -> None:
        """Hand an event to the front-end (event stream)."""
        if self.on_event is not None:
            self.on_event(code, data)

    def log_admin(self, admin_id: int, operation: str) -> None:
        """Append to the administrator operation log."""
        entry = AdminLogEntry(self.now_utc(), admin_id, operation)
        self.admin_log.append(entry)
        del self.admin_log[:-ADMIN_LOG_CAPACITY]
        if self.store:
            self.store.append_admin_log(entry)

    def registration_info(self) -> dict[str, tuple[int, int]]:
        """Used and total capacity (SysInfo > Registration Info)."""
        return {
            "users": (len(self.users), USER_CAPACITY),
            "administrators": (sum(u.is_admin for u in self.users.values()), USER_CAPACITY),
            "cards": (self.card_count(), CARD_CAPACITY),
            "fingerprints": (self.fingerprint_count(), FINGERPRINT_CAPACITY),
            "passwords": (sum(bool(u.password) for u in self.users.values()), USER_CAPACITY),
            "records": (len(self.punches), RECORD_CAPACITY),
        }
