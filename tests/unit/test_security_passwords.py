"""The password rule of the manuals, clause by clause, and the strength meter."""

from __future__ import annotations

import pytest

from openpss.platform.security.passwords import (
    PasswordRuleError,
    character_classes,
    check_password_rule,
    hash_password,
    strength,
    verify_password,
)


def test_hash_is_argon2id_and_verifies() -> None:
    hashed = hash_password("Adm1n!Secure")
    assert hashed.startswith("$argon2id$")
    assert "Adm1n!Secure" not in hashed
    assert verify_password(hashed, "Adm1n!Secure")
    assert not verify_password(hashed, "adm1n!Secure")
    assert not verify_password("not-a-hash", "Adm1n!Secure")


@pytest.mark.parametrize("password", ["Ab1!xyZ", "Ab1!" + "x9Z" * 10])
def test_length_8_to_32(password: str) -> None:
    with pytest.raises(PasswordRuleError, match="8 to 32 characters"):
        check_password_rule(password, "admin")


def test_length_bounds_accepted() -> None:
    check_password_rule("Ab1!xqZw", "admin")  # 8
    check_password_rule(("Ab1!xqZw" * 4)[:32], "admin")  # 32


@pytest.mark.parametrize("password", ["Ab1! xyZq", "Ab1!\txyZq"])
def test_blanks_rejected(password: str) -> None:
    with pytest.raises(PasswordRuleError, match="must not contain blanks"):
        check_password_rule(password, "admin")


@pytest.mark.parametrize("password", ["qwertyuiop", "QWERTYUIOP", "80471592", "!@#$%^&*()"])
def test_single_class_rejected(password: str) -> None:
    with pytest.raises(PasswordRuleError, match="at least two of"):
        check_password_rule(password, "admin")


@pytest.mark.parametrize("password", ["qwerty80", "QWErtyui", "qwerty!?", "QWERTY80", "8047!?#%"])
def test_two_classes_accepted(password: str) -> None:
    check_password_rule(password, "admin")


@pytest.mark.parametrize("password", ["Xadmin!9q", "X!9nimdaq", "XADMIN!9q", "q9!NimDa"])
def test_account_name_or_reverse_rejected(password: str) -> None:
    with pytest.raises(PasswordRuleError, match="account name or its reverse"):
        check_password_rule(password, "admin")


@pytest.mark.parametrize("password", ["Qw!123xz", "Qw!abcxz", "Qw!321xz", "Qw!CBAxz", "Qw!xyz80"])
def test_runs_rejected(password: str) -> None:
    with pytest.raises(PasswordRuleError, match="runs such as 123, abc"):
        check_password_rule(password, "admin")


@pytest.mark.parametrize("password", ["Qw!111xz", "Qw!aaaxz", "Qw!!!!xz", "Qw!ZZZxz"])
def test_repeats_rejected(password: str) -> None:
    with pytest.raises(PasswordRuleError, match="repeat a character three times"):
        check_password_rule(password, "admin")


def test_two_in_a_row_is_fine() -> None:
    check_password_rule("Qw!11xzz9", "admin")
    check_password_rule("Qw!12x9z8", "admin")  # 12 alone is not a run of three


def test_character_classes_and_strength() -> None:
    assert character_classes("aA1!") == 4
    assert character_classes("abc") == 1
    assert strength("abc") == "weak"
    assert strength("qwertyuiop") == "weak"
    assert strength("qwerty80") == "medium"
    assert strength("Qw!80xzKp2") == "strong"


def test_non_ascii_symbols_count_as_special() -> None:
    assert character_classes("qwerty€x") == 2
    check_password_rule("qwerty€x", "admin")
