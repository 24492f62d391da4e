"""Invite codes (pure): round trips, forgiving typing, refusing mistakes and hostile codes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pchat.core.invite import (
    INVITE_PREFIX,
    MAX_INVITE_ADDRESSES,
    Invite,
    InviteError,
    decode_invite,
    encode_invite,
)
from p2pchat.core.limits import Limits

LIMITS = Limits()
TAG = "0f" * 16


def test_open_and_private_invites_round_trip_and_stay_short() -> None:
    for invite in (
        Invite(("192.168.1.23",), 41234, "lobby"),
        Invite(("10.0.0.7", "172.16.5.9"), 40001, "project-x ünï"),
        Invite(("192.168.1.23",), 41234, "team", TAG),
    ):
        code = encode_invite(invite)
        assert code.startswith(INVITE_PREFIX) and code.isascii()
        assert len(code) < 80
        assert decode_invite(code, LIMITS) == invite


def test_a_private_code_holds_the_tag_to_check_a_passphrase_against() -> None:
    invite = decode_invite(encode_invite(Invite(("10.0.0.7",), 41234, "team", TAG)), LIMITS)
    assert invite.room == "team" and invite.tag == TAG


def test_case_spaces_and_dashes_are_forgiven() -> None:
    code = encode_invite(Invite(("10.0.0.7",), 41234, "lobby"))
    body = code[len(INVITE_PREFIX) :]
    retyped = (
        INVITE_PREFIX.upper() + " " + "-".join(body[i : i + 4] for i in range(0, len(body), 4))
    )
    assert decode_invite(retyped.upper(), LIMITS) == decode_invite(code, LIMITS)


def test_only_the_first_addresses_are_kept() -> None:
    many = tuple(f"10.0.0.{i}" for i in range(1, 20))
    invite = decode_invite(encode_invite(Invite(many, 1, "r")), LIMITS)
    assert invite.addresses == many[:MAX_INVITE_ADDRESSES]


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("hello", "starts with"),
        ("p2pchat-!!!!", "characters no code has"),
        ("p2pchat-aaaa", "mistyped or cut short"),
    ],
)
def test_bad_codes_say_why_in_one_line(code: str, why: str) -> None:
    with pytest.raises(InviteError, match=why):
        decode_invite(code, LIMITS)


def test_one_mistyped_letter_is_caught() -> None:
    code = encode_invite(Invite(("192.168.1.23",), 41234, "lobby"))
    for at in range(len(INVITE_PREFIX), len(code)):
        wrong = "b" if code[at] != "b" else "c"
        with pytest.raises(InviteError):
            decode_invite(code[:at] + wrong + code[at + 1 :], LIMITS)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_an_invite_or_one_clear_refusal(text: str) -> None:
    try:
        invite = decode_invite(INVITE_PREFIX + text, LIMITS)
    except InviteError:
        return
    assert 1 <= len(invite.addresses) <= MAX_INVITE_ADDRESSES and 1 <= invite.port <= 65535


@pytest.mark.parametrize("address", ["0.0.0.0", "255.255.255.255", "224.0.0.251", "240.0.0.1"])
def test_a_code_that_would_dial_no_one_or_everyone_is_refused(address: str) -> None:
    code = encode_invite(Invite((address,), 41234, "lobby"))
    with pytest.raises(InviteError, match="nobody can be dialled at"):
        decode_invite(code, LIMITS)
