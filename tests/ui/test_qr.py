"""The QR code as text: every module drawn where qrcode put it, with a quiet border."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_L

from p2pchat.ui.qr import QUIET_MODULES, qr_lines

CODE = "p2pchat-aebqaad2raaqaaabaaaaaaaaaaaaaaaabwg6ytcpfxxg5a"
TOP = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}


def test_the_lines_hold_exactly_the_modules_of_the_code() -> None:
    code = qrcode.QRCode(border=QUIET_MODULES, error_correction=ERROR_CORRECT_L)
    code.add_data(CODE)
    code.make(fit=True)
    dark = code.get_matrix()
    lines = qr_lines(CODE)
    drawn: list[list[bool]] = []
    for line in lines:
        drawn.append([TOP[c][0] for c in line])
        drawn.append([TOP[c][1] for c in line])
    light = [[not m for m in row] for row in dark]
    assert drawn[: len(light)] == light  # the last half row (if any) is quiet border
    assert all(all(row) for row in drawn[len(light) :])
    assert len(lines[0]) == len(dark[0]) < 40  # fits a narrow pane


def test_the_border_is_light_all_round() -> None:
    lines = qr_lines(CODE)
    assert set(lines[0]) == {"█"} and all(line[0] == line[-1] == "█" for line in lines)
