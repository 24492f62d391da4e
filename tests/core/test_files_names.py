"""safe_file_name: whatever a peer (or a local path) offers becomes one short, plain file name."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from p2pchat.core.files import FALLBACK_NAME, MAX_NAME_BYTES, WINDOWS_RESERVED, safe_file_name
from p2pchat.core.messages import CONTROL_AND_BIDI

BIDI_FORMATTING = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
_FORBIDDEN = re.compile(f"[/\\\\{CONTROL_AND_BIDI}\ud800-\udfff]")

# Every code point, lone surrogates included (a local name with undecodable bytes has them).
any_char = st.characters(codec=None, exclude_categories=())
any_name = st.text(any_char, max_size=400) | st.builds(
    lambda stem, ext: f"{stem}.{ext}", st.text(any_char, max_size=5), st.text(any_char)
)


@settings(max_examples=2000)
@given(any_name)
@example("a." + "x" * 300)
@example("." + "é" * 150)
@example(". . ." + "x" * 300)
@example("\ud800" * 3 + "." + "y" * 250)
def test_any_input_becomes_one_safe_short_name(name: str) -> None:
    safe = safe_file_name(name)
    assert safe
    assert not _FORBIDDEN.search(safe)
    assert not any(unicodedata.category(c) == "Cc" for c in safe)
    assert not any(unicodedata.bidirectional(c) in BIDI_FORMATTING for c in safe)
    assert not safe.startswith(".")
    assert safe == safe.strip()
    assert len(safe.encode()) <= MAX_NAME_BYTES
    assert safe_file_name(safe) == safe
    assert windows_takes(safe)


def windows_takes(name: str) -> bool:
    """Whether Windows would store a file under exactly this name."""
    device = name.split(".", maxsplit=1)[0].rstrip().upper()
    return (
        not re.search(r'[<>:"/\\|?*\x00-\x1f]', name)
        and not name.endswith((".", " "))
        and device not in WINDOWS_RESERVED
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\.bashrc", "bashrc"),
        (". . .hidden", "hidden"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),
        ("", FALLBACK_NAME),
        ("..", FALLBACK_NAME),
        ("dir/", FALLBACK_NAME),
        # Windows' rules, for a file sent from Linux or macOS to Windows.
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Aux.tar.gz", "_Aux.tar.gz"),
        ("com1", "_com1"),
        ("LPT9.log", "_LPT9.log"),
        ("COM\u00b9.txt", "_COM\u00b9.txt"),
        ("conin$", "_conin$"),
        ("CON .txt", "_CON .txt"),
        ("console.txt", "console.txt"),  # only the whole first part counts
        ("com10", "com10"),
        ("notes.", "notes"),
        ("notes. . .", "notes"),
        ("draft ", "draft"),
        ('what?<is>"this":a|b*.txt', "what__is__this__a_b_.txt"),
        ("tab\there.txt", "tab_here.txt"),
    ],
)
def test_examples(name: str, expected: str) -> None:
    assert safe_file_name(name) == expected


def test_a_long_stem_is_shortened_and_the_extension_kept() -> None:
    safe = safe_file_name("x" * 300 + ".tar.gz")
    assert safe == "x" * (MAX_NAME_BYTES - len(".gz")) + ".gz"


def test_a_short_stem_with_a_huge_extension_keeps_the_stem_first() -> None:
    safe = safe_file_name("a." + "x" * 300)
    assert safe == "a." + "x" * (MAX_NAME_BYTES - 2)


def test_shortening_never_splits_a_character() -> None:
    safe = safe_file_name("é" * 150 + ".txt")
    assert safe == "é" * ((MAX_NAME_BYTES - 4) // 2) + ".txt"
