"""Look-alike nicks: a skeleton that is equal for names that look the same (Unicode TR39 data).

The confusable pairs come from the Unicode consortium's confusables.txt, as packaged by the
`confusable-homoglyphs` library. Each character is replaced by the smallest member of its
look-alike class (Cyrillic and Latin "a", "0" and "O", "1", "I" and "l"), after NFKC, so two
nicks with equal skeletons are easy to mistake for each other on screen. A skeleton is for
comparing only, never for display.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from importlib import resources

import msgspec

SKELETON_CACHE = 4096  # skeletons remembered, and characters' look-alike classes


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


Confusables = dict[str, list[dict[str, str]]]
LIBRARY = "confusable_homoglyphs"
DATA_FILE = "confusables.json"
DATA_DIR_ENV = "CONFUSABLE_DATA"  # the library's own override of where its data is


@functools.cache
def _data() -> Confusables:
    """The library's confusables data, read when first needed.

    Read straight from the package: importing the library's module also imports urllib.request
    (for its updater), which costs a node more start-up time than the data itself. Where the
    file is not found (or the library is told to look elsewhere), the library loads it."""
    if DATA_DIR_ENV not in os.environ:
        try:
            raw = resources.files(LIBRARY).joinpath(DATA_FILE).read_bytes()
        except OSError:
            pass
        else:
            return msgspec.json.decode(raw, type=Confusables)
    from confusable_homoglyphs import confusables

    data: Confusables = confusables.confusables_data
    return data


@functools.lru_cache(maxsize=SKELETON_CACHE)
def _class_of(char: str) -> str:
    """The smallest member of char's look-alike class (char itself when it has none).

    Worked out per character as it is met: the whole table costs tens of milliseconds."""
    data = _data()
    homoglyphs = data.get(char)
    if homoglyphs is None:
        return char
    # The data is a star: a prototype lists its look-alikes, each look-alike its prototype.
    # Two steps out from any member reach the whole class.
    members = {char}
    for glyph in homoglyphs:
        members.add(glyph["c"])
        members.update(g["c"] for g in data.get(glyph["c"], ()))
    single = [m for m in members if len(m) == 1]
    return min(single) if single else char
