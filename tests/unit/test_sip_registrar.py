"""Registrar rules: Expires clamp, several contacts, unregister (0 and *), sweep, callbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from openpss.protocols.sip.accounts import AccountsError, StaticAccounts
from openpss.protocols.sip.message import SipRequest, parse_message
from openpss.protocols.sip.registrar import LocationService, Registrar, RegistrarError
from openpss.protocols.sip.transport import Peer

PEER = Peer("UDP", "10.0.0.5", 5060)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _register(contacts: list[str], expires: str | None = "60") -> SipRequest:
    lines = [
        "REGISTER sip:10.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKr",
        "From: <sip:9901#0@10.0.0.1>;tag=1",
        "To: <sip:9901#0@10.0.0.1>",
        "Call-ID: reg-1",
        "CSeq: 1 REGISTER",
        *[f"Contact: {c}" for c in contacts],
    ]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, SipRequest)
    return message


def _registrar(strict: bool = False) -> tuple[Registrar, list[tuple[str, bool]], Clock]:
    changes: list[tuple[str, bool]] = []
    clock = Clock()
    location = LocationService(on_change=lambda u, o: changes.append((u, o)), clock=clock)
    return Registrar(location, strict_min=strict), changes, clock


def test_expires_clamped_to_min_and_max() -> None:
    registrar, _, _ = _registrar()
    response = registrar.handle(_register(["<sip:a@10.0.0.5>"], "10"), "9901#0", PEER)
    assert response.contacts[0].params["expires"] == "60"
    response = registrar.handle(_register(["<sip:a@10.0.0.5>"], "99999"), "9901#0", PEER)
    assert response.contacts[0].params["expires"] == "3600"


def test_strict_minimum_answers_423_with_min_expires() -> None:
    registrar, _, _ = _registrar(strict=True)
    with pytest.raises(RegistrarError) as info:
        registrar.handle(_register(["<sip:a@10.0.0.5>"], "10"), "9901#0", PEER)
    assert info.value.status == 423 and info.value.headers == {"Min_Expires": "60"}


def test_several_contacts_per_aor_and_per_contact_expires() -> None:
    registrar, changes, _ = _registrar()
    request = _register(["<sip:a@10.0.0.5>;expires=120", "<sip:b@10.0.0.6>"], "300")
    response = registrar.handle(request, "9901#0", PEER)
    assert {c.uri: c.params["expires"] for c in response.contacts} == {
        "sip:a@10.0.0.5": "120",
        "sip:b@10.0.0.6": "300",
    }
    assert changes == [("9901#0", True)]  # online once, not per contact
    registrar.handle(_register(["<sip:a@10.0.0.5>"], "0"), "9901#0", PEER)
    assert [b.contact for b in registrar.location.lookup("9901#0")] == ["sip:b@10.0.0.6"]
    registrar.handle(_register(["*"], "0"), "9901#0", PEER)
    assert registrar.location.lookup("9901#0") == []
    assert changes == [("9901#0", True), ("9901#0", False)]


def test_star_needs_expires_zero() -> None:
    registrar, _, _ = _registrar()
    with pytest.raises(RegistrarError, match="Contact: \\* needs Expires: 0"):
        registrar.handle(_register(["*"], "60"), "9901#0", PEER)


def test_sweep_drops_expired_bindings_and_reports_offline() -> None:
    registrar, changes, clock = _registrar()
    registrar.handle(_register(["<sip:a@10.0.0.5>"], "60"), "9901#0", PEER)
    clock.now += 59
    assert registrar.location.sweep() == []
    clock.now += 2
    assert registrar.location.sweep() == ["9901#0"]
    assert changes[-1] == ("9901#0", False)


def test_accounts_csv_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("username,password\n9901#0,pw\n9901#0,again\n")
    with pytest.raises(AccountsError, match=r"a.csv:3: duplicate username 9901#0"):
        StaticAccounts.from_csv(path)
    path.write_text("user,pass\n")
    with pytest.raises(AccountsError, match=r"a.csv:1: the first row must be"):
        StaticAccounts.from_csv(path)
    path.write_text("username,password\nbad name,pw\n")
    with pytest.raises(AccountsError, match=r"a.csv:2: username 'bad name' must be"):
        StaticAccounts.from_csv(path)
    path.write_text("username,password\n8001,pw\n9901#0,x\n")
    assert set(StaticAccounts.from_csv(path).usernames()) == {"8001", "9901#0"}
