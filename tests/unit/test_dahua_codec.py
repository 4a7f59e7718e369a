"""Codec of the Dahua CGI API: key=value bodies, config tables, errors, records, events, digest."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

from openpss.protocols.dahua_http.codec import (
    DahuaProtocolError,
    ErrorBody,
    RecordPage,
    encode_kv,
    flatten_config,
    parse_indexed_params,
    parse_kv,
    unflatten_config,
)
from openpss.protocols.dahua_http.digest import (
    DigestCredentials,
    NonceBook,
    build_challenge,
    digest_response,
    ha1_of,
    parse_auth_params,
    realm_for,
)
from openpss.protocols.dahua_http.events import EventPart, EventStreamDecoder

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dahua"


def test_kv_round_trip_uses_crlf_and_lowercase_booleans() -> None:
    body = encode_kv({"type": "ASI", "enable": True, "count": 3, "empty": None})
    assert body == "type=ASI\r\nenable=true\r\ncount=3\r\nempty=\r\n"
    assert parse_kv(body) == {"type": "ASI", "enable": "true", "count": "3", "empty": ""}


def test_kv_keeps_equals_signs_in_values() -> None:
    assert parse_kv("data=a=b\n") == {"data": "a=b"}


def test_kv_line_without_equals_is_refused_with_line_number() -> None:
    with pytest.raises(DahuaProtocolError, match="line 2 is not key=value"):
        parse_kv("a=1\r\nnonsense\r\n")


def test_error_body_golden_and_parse() -> None:
    assert str(ErrorBody()) == "Error\r\nBad Request!\r\n"
    assert ErrorBody.parse("Error\r\ncapacity full\r\n").reason == "capacity full"
    assert ErrorBody.parse("Error: Error -1 getting param").reason == "Error -1 getting param"
    with pytest.raises(DahuaProtocolError, match="not an Error"):
        ErrorBody.parse("OK\r\n")


def test_flatten_config_matches_golden_table() -> None:
    bells = [
        {"Time": "07:30", "Cycle": "Monday", "Duration": 5},
        {"Time": "12:00", "Cycle": "EveryDay", "Duration": 0},
    ]
    golden = (FIXTURES / "config_bell.txt").read_bytes().decode()
    assert encode_kv(flatten_config("Bell", bells)) == golden
    parsed = unflatten_config(parse_kv(golden))
    assert parsed == {
        "Bell": {
            0: {"Time": "07:30", "Cycle": "Monday", "Duration": "5"},
            1: {"Time": "12:00", "Cycle": "EveryDay", "Duration": "0"},
        }
    }


def test_flatten_nested_tables() -> None:
    tree = {"eth0": {"IPAddress": "192.168.1.108"}, "TCPPort": 37777}
    assert flatten_config("Network", tree) == [
        ("table.Network.eth0.IPAddress", "192.168.1.108"),
        ("table.Network.TCPPort", "37777"),
    ]


def test_unflatten_refuses_bad_paths_and_conflicts() -> None:
    with pytest.raises(DahuaProtocolError, match="invalid config path"):
        unflatten_config({"Bell[x].Time": "1"})
    with pytest.raises(DahuaProtocolError, match="conflicts"):
        unflatten_config({"A.B": "1", "A.B.C": "2"})


def test_record_page_golden_round_trip() -> None:
    golden = (FIXTURES / "record_page.txt").read_bytes().decode()
    page = RecordPage.parse(golden)
    assert page.total_count == 2
    assert page.records[0]["RecNo"] == "7"
    assert page.records[1]["CardNo"] == ""
    assert str(page) == golden


def test_record_page_without_found_or_with_stray_index_is_refused() -> None:
    with pytest.raises(DahuaProtocolError, match="no 'found' line"):
        RecordPage.parse("totalCount=1\r\n")
    with pytest.raises(DahuaProtocolError, match="beyond found=1"):
        RecordPage.parse("found=1\r\nrecords[3].RecNo=1\r\n")


def test_indexed_params_in_index_order() -> None:
    params = {"UserIDList[1]": "b", "UserIDList[0]": "a", "other": "x", "UserIDList[10]": "c"}
    assert parse_indexed_params(params, "UserIDList") == ["a", "b", "c"]


def test_event_part_golden_bytes_both_ways() -> None:
    golden = (FIXTURES / "event_access.bin").read_bytes()
    part = EventPart("AccessControl", "Pulse", 0, {"RecNo": 7, "UserID": "1", "Status": 1})
    assert bytes(part) == golden
    assert EventStreamDecoder().feed(golden) == [part]


def test_heartbeat_golden_bytes() -> None:
    golden = (FIXTURES / "event_heartbeat.bin").read_bytes()
    assert bytes(EventPart("Heartbeat")) == golden
    [part] = EventStreamDecoder().feed(golden)
    assert part.is_heartbeat


def test_decoder_reassembles_parts_split_anywhere() -> None:
    stream = (FIXTURES / "event_access.bin").read_bytes() + bytes(EventPart("Heartbeat")) * 2
    decoder = EventStreamDecoder()
    parts = []
    for index in range(0, len(stream), 7):
        parts += decoder.feed(stream[index : index + 7])
    assert [p.code for p in parts] == ["AccessControl", "Heartbeat", "Heartbeat"]


def test_decoder_refuses_bad_length_and_bad_json() -> None:
    with pytest.raises(DahuaProtocolError, match="bad Content-Length"):
        EventStreamDecoder().feed(b"--myboundary\r\nContent-Length: x\r\n\r\n")
    with pytest.raises(DahuaProtocolError, match="no Content-Length"):
        EventStreamDecoder().feed(b"--myboundary\r\nContent-Type: text/plain\r\n\r\n")
    with pytest.raises(DahuaProtocolError, match="data is not JSON"):
        EventPart.parse_body("Code=A;action=Pulse;index=0;data={oops")
    with pytest.raises(DahuaProtocolError, match="no Code"):
        EventPart.parse_body("action=Pulse")


def test_digest_response_matches_rfc2617_example() -> None:
    # RFC 2617 section 3.5 worked example.
    response = digest_response(
        ha1=ha1_of("Mufasa", "testrealm@host.com", "Circle Of Life"),
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_challenge_names_the_device_serial() -> None:
    header = build_challenge(realm_for("AB123"), "n1", "o1", stale=True)
    params = parse_auth_params(header)
    assert params == {
        "realm": "Login to AB123",
        "qop": "auth",
        "nonce": "n1",
        "opaque": "o1",
        "stale": "TRUE",
    }


def test_credentials_parse_and_verify() -> None:
    header = (
        'Digest username="admin", realm="Login to X", nonce="abc", uri="/cgi-bin/a.cgi?x=1", '
        'qop=auth, nc=00000001, cnonce="c", response="{}"'
    )
    expected = digest_response(
        ha1=ha1_of("admin", "Login to X", "pw"),
        method="GET",
        uri="/cgi-bin/a.cgi?x=1",
        nonce="abc",
        nc="00000001",
        cnonce="c",
    )
    creds = DigestCredentials.parse(header.format(expected))
    assert creds.matches(ha1=ha1_of("admin", "Login to X", "pw"), method="GET")
    assert not creds.matches(ha1=ha1_of("admin", "Login to X", "other"), method="GET")


def test_credentials_without_cnonce_are_refused() -> None:
    with pytest.raises(DahuaProtocolError, match="needs nc and cnonce"):
        DigestCredentials.parse('Digest username="a", realm="r", nonce="n", uri="/", response="x"')
    with pytest.raises(DahuaProtocolError, match="scheme is not Digest"):
        DigestCredentials.parse("Basic YWRtaW46eA==")


def test_nonces_expire() -> None:
    now = [0.0]
    book = NonceBook(clock=lambda: now[0])
    nonce = book.issue()
    assert book.is_fresh(nonce)
    now[0] = 601.0
    assert not book.is_fresh(nonce)
    assert not book.is_fresh("never-issued")


def test_random_bytes_only_raise_protocol_errors() -> None:
    rng = random.Random(4)
    alphabet = b"--myboundary\r\nContent-Length: 12\r\n=;{}[]Code=data=Heartbeat0123456789\xff"
    for _ in range(500):
        blob = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        for parse in (
            lambda b: EventStreamDecoder().feed(b),
            lambda b: RecordPage.parse(b.decode("latin-1")),
            lambda b: unflatten_config(parse_kv(b.decode("latin-1"))),
        ):
            with contextlib.suppress(DahuaProtocolError):
                parse(blob)
