"""Small pure helpers of the security package."""

from __future__ import annotations

import datetime as dt

import pytest

from openpss.platform.errors import Invalid, Locked
from openpss.platform.security.audit import parse_syslog_address
from openpss.platform.security.passwords import verify_password
from openpss.platform.security.service import build_questions, check_username, normalize_answer
from openpss.platform.security.views import safe_next


def test_answers_compare_case_insensitively_after_strip() -> None:
    assert normalize_answer("  Rex ") == normalize_answer("rex")
    questions = build_questions([("Pet?", " Rex "), ("City?", "Lyon"), ("School?", "X")])
    assert [q.position for q in questions] == [0, 1, 2]
    assert verify_password(questions[0].answer_hash, "rex")
    assert "Rex" not in questions[0].answer_hash


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("a?", "x"), ("b?", "y")], "exactly 3"),
        ([("a?", "x"), ("b?", "y"), ("c?", " ")], "needs a question and an answer"),
        ([("a?", "x"), ("A?", "y"), ("c?", "z")], "different security questions"),
        ([("a?", "x"), ("b?", " X"), ("c?", "z")], "different answers"),
        ([("a" * 129, "x"), ("b?", "y"), ("c?", "z")], "at most 128"),
    ],
)
def test_question_rules(pairs: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        build_questions(pairs)


def test_username_rule() -> None:
    assert check_username(" admin ") == "admin"
    with pytest.raises(Invalid, match="1 to 32"):
        check_username("")
    with pytest.raises(Invalid, match="letters, digits"):
        check_username("bad name")


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/people?x=1", "/people?x=1"), ("//evil.example", "/"), ("https://evil", "/"), ("/\\x", "/")],
)
def test_safe_next(target: str, expected: str) -> None:
    assert safe_next(target) == expected


def test_syslog_address() -> None:
    assert parse_syslog_address("127.0.0.1:5514") == ("127.0.0.1", 5514)
    assert parse_syslog_address("logs.example") == ("logs.example", 514)
    with pytest.raises(ValueError, match="host:port"):
        parse_syslog_address("127.0.0.1:notaport")


def test_locked_message_says_until_when() -> None:
    until = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    assert str(Locked("account bob", until)).startswith(
        "account bob is locked until 2026-01-02 03:04 UTC"
    )
