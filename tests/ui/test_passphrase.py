"""Asking for a room passphrase: again when too short, twice for a room new to this data dir."""

from __future__ import annotations

import pytest

from p2pchat.cli import UsageError, ask_passphrase


def asked(answers: list[str], *, confirm: bool) -> tuple[str | None, list[str], list[str]]:
    prompts: list[str] = []
    said: list[str] = []
    replies = iter(answers)

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    try:
        secret: str | None = ask_passphrase("team", ask, confirm=confirm, say=said.append)
    except UsageError:
        secret = None
    return secret, prompts, said


def test_a_short_passphrase_is_asked_again_instead_of_exiting() -> None:
    secret, prompts, said = asked(["short", "long enough now"], confirm=False)
    assert secret == "long enough now" and len(prompts) == 2
    assert said == ["a room passphrase has at least 8 characters; try again"]


def test_a_new_room_asks_twice_and_a_mismatch_asks_again() -> None:
    answers = ["correct horse", "correct hrose", "correct horse", "correct horse"]
    secret, prompts, said = asked(answers, confirm=True)
    assert secret == "correct horse" and len(prompts) == 4
    assert said == ["the two did not match; try again"]
    assert prompts[1] == "the same again, to be sure: "


def test_three_bad_tries_end_with_one_clear_line() -> None:
    with pytest.raises(UsageError, match="no usable passphrase after 3 tries"):
        ask_passphrase("team", lambda _: "x", confirm=False, say=lambda _: None)
