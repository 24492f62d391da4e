"""Look-alike nicks: a skeleton that is equal for names that look the same (Unicode TR39 data).

The confusable pairs come from the Unicode consortium's confusables.txt, as packaged by the
`confusable-homoglyphs` library. Each character is replaced by the smallest member of its
look-alike class (Cyrillic and Latin "a", "0" and "O", "1", "I" and "l"), after NFKC, so two
nicks with equal skeletons are easy to mistake for each other on screen. A skeleton is for
comparing only, never for display.
"""

from __future__ import annotations

import functools
import unicodedata

from confusable_homoglyphs import confusables

SKELETON_CACHE = 4096


@functools.lru_cache(maxsize=SKELETON_CACHE)
def skeletons(name: str) -> frozenset[str]:
    """What name looks like, as written, in lower and in upper case (one shared: look-alikes).

    Case matters to the data ("I" looks like "l", "0" like "O"), so all three forms count:
    "b0b" looks like "bob" through "B0B" and "BOB".
    """
    normal = unicodedata.normalize("NFKC", name)
    return frozenset(_skeleton(form) for form in (normal, normal.casefold(), normal.upper()))


def _skeleton(name: str) -> str:
    return "".join(_class_of(char) for char in name)


@functools.cache
def _classes() -> dict[str, str]:
    """Each character with look-alikes -> the smallest member of its look-alike class."""
    data: dict[str, list[dict[str, str]]] = confusables.confusables_data
    smallest: dict[str, str] = {}
    for char, homoglyphs in data.items():
        # The data is a star: a prototype lists its look-alikes, each look-alike its prototype.
        # Two steps out from any member reach the whole class.
        members = {char}
        for glyph in homoglyphs:
            members.add(glyph["c"])
            members.update(g["c"] for g in data.get(glyph["c"], ()))
        single = [m for m in members if len(m) == 1]
        smallest[char] = min(single) if single else char
    return smallest


def _class_of(char: str) -> str:
    return _classes().get(char, char)
