"""SIP digest: MD5 and SHA-256, stale nonces, nonce-count replay, the Dahua reuse tolerance."""

from __future__ import annotations

from openpss.protocols.sip.digest import (
    DigestClient,
    DigestServer,
    compute_response,
    parse_auth_params,
    pick_challenge,
)
from openpss.protocols.sip.errors import SipParseError

ACCOUNTS = {"9901#0": "secret0", "8001": "vto-pass"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _server(clock: Clock, algorithms: tuple[str, ...] = ("MD5",)) -> DigestServer:
    return DigestServer("VDP", ACCOUNTS.get, algorithms=algorithms, clock=clock)


def test_md5_and_sha256_round_trip_with_hash_in_username() -> None:
    clock = Clock()
    for algorithm in ("MD5", "SHA-256"):
        server = _server(clock, (algorithm,))
        client = DigestClient("9901#0", "secret0")
        header = client.authorization(server.challenges()[0], method="REGISTER", uri="sip:vdp")
        assert parse_auth_params(header)[1]["username"] == "9901#0"
        result = server.check(header, method="REGISTER", source="10.0.0.5:5060")
        assert result.ok and result.username == "9901#0", result


def test_rfc7616_sha256_vector_shape() -> None:
    # RFC 7616 §3.9.1 example (HTTP), SHA-256, qop=auth
    response = compute_response(
        algorithm="SHA-256",
        username="Mufasa",
        realm="http-auth@example.org",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        qop="auth",
    )
    assert response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_wrong_password_is_refused() -> None:
    server = _server(Clock())
    header = DigestClient("8001", "nope").authorization(
        server.challenges()[0], method="REGISTER", uri="sip:vdp"
    )
    result = server.check(header, method="REGISTER", source="a")
    assert not result.ok and result.reason == "wrong password" and not result.stale


def test_expired_nonce_is_stale() -> None:
    clock = Clock()
    server = _server(clock)
    challenge = server.challenges()[0]
    clock.now += server.nonce_lifetime + 1
    header = DigestClient("8001", "vto-pass").authorization(challenge, method="REGISTER", uri="u")
    result = server.check(header, method="REGISTER", source="a")
    assert not result.ok and result.stale
    assert "stale=true" in server.challenges(stale=True)[0]


def test_nonce_count_replay_refused_but_next_count_accepted() -> None:
    server = _server(Clock())
    client = DigestClient("8001", "vto-pass")
    challenge = server.challenges()[0]
    first = client.authorization(challenge, method="INVITE", uri="sip:9901@vdp")
    assert server.check(first, method="INVITE", source="a").ok
    replay = server.check(first, method="INVITE", source="a")
    assert not replay.ok and "replayed" in replay.reason
    second = client.authorization(challenge, method="INVITE", uri="sip:9901@vdp")
    assert server.check(second, method="INVITE", source="a").ok


def _answer(challenge: str, nc: int) -> str:
    """An INVITE Authorization for ``challenge`` with nonce-count ``nc``."""
    client = DigestClient("8001", "vto-pass")
    for _ in range(nc):  # the client counts one per answer
        header = client.authorization(challenge, method="INVITE", uri="sip:9901@vdp")
    assert f"nc={nc:08x}" in header
    return header


def test_nonce_counts_out_of_order_within_the_window_each_accepted_once() -> None:
    server = _server(Clock())
    challenge = server.challenges()[0]

    def check(nc: int) -> bool:
        return server.check(_answer(challenge, nc), method="INVITE", source="a").ok

    assert check(5) and check(2) and check(70)  # concurrent requests arrive out of order
    assert not check(5) and not check(70)  # each count once
    assert check(7)  # 70 - 7 < 64: still inside the window, unseen
    assert not check(6)  # 70 - 6 = 64: fell out of the window
    assert check(200) and not check(136) and check(137) and not check(137)


def test_dahua_register_nonce_reuse_from_same_binding_is_accepted() -> None:
    clock = Clock()
    server = _server(clock)
    challenge = server.challenges()[0]
    header = DigestClient("9901#0", "secret0").authorization(
        challenge, method="REGISTER", uri="sip:10.0.0.1"
    )
    assert server.check(header, method="REGISTER", source="10.0.0.5:5060").ok
    clock.now += 60  # the unit re-REGISTERs with the very same Authorization
    assert server.check(header, method="REGISTER", source="10.0.0.5:5060").ok
    # the same header from another address is a replay
    other = server.check(header, method="REGISTER", source="10.0.0.66:5060")
    assert not other.ok and "replayed" in other.reason
    # after the nonce's lifetime the reuse gets stale=true, so the unit re-authenticates
    clock.now += server.nonce_lifetime
    assert server.check(header, method="REGISTER", source="10.0.0.5:5060").stale


def test_nonce_reuse_tolerance_is_for_register_only() -> None:
    server = _server(Clock())
    header = DigestClient("8001", "vto-pass").authorization(
        server.challenges()[0], method="INVITE", uri="sip:x"
    )
    assert server.check(header, method="INVITE", source="s").ok
    assert not server.check(header, method="INVITE", source="s").ok


def test_client_picks_sha256_over_md5() -> None:
    server = _server(Clock(), ("SHA-256", "MD5"))
    challenges = server.challenges()
    chosen = pick_challenge(list(reversed(challenges)))
    assert chosen is not None and "SHA-256" in chosen


def test_unknown_user_and_missing_fields() -> None:
    server = _server(Clock())
    assert server.check(None, method="REGISTER", source="s").reason == "no credentials"
    assert "lacks" in server.check('Digest username="x"', method="R", source="s").reason
    header = DigestClient("nobody", "x").authorization(
        server.challenges()[0], method="REGISTER", uri="u"
    )
    assert server.check(header, method="REGISTER", source="s").reason == "unknown user"


def test_auth_params_quoted_commas_escapes_and_malformed_input() -> None:
    scheme, params = parse_auth_params(
        'Digest username="99\\"01", uri="sip:a;x=1,2" ,nc=00000001,  qop=auth'
    )
    assert scheme == "Digest"
    assert params == {"username": '99"01', "uri": "sip:a;x=1,2", "nc": "00000001", "qop": "auth"}
    for bad in ('Digest username="open', "Digest =x", 'Digest a="x"junk', "Digest a b"):
        try:
            parse_auth_params(bad)
        except SipParseError as exc:
            assert "malformed Digest parameter" in str(exc)
        else:
            raise AssertionError(f"{bad!r} parsed")
