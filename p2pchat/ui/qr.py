"""A QR code as lines of text (two rows of modules per line, in half blocks), for terminals."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_L

QUIET_MODULES = 2  # the white border scanners need around the code
_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def qr_lines(text: str) -> list[str]:
    """The QR code of text, light modules drawn (scanners read it on a dark terminal)."""
    code = qrcode.QRCode(border=QUIET_MODULES, error_correction=ERROR_CORRECT_L)
    code.add_data(text)
    code.make(fit=True)
    dark: list[list[bool]] = code.get_matrix()
    light = [[not module for module in row] for row in dark]
    if len(light) % 2:
        light.append([True] * len(light[0]))
    return [
        "".join(_BLOCKS[(top, bottom)] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(light[::2], light[1::2], strict=True)
    ]
