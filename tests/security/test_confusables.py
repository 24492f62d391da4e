"""Look-alike nicks: skeletons meet for names that look the same, from the library's data."""

from __future__ import annotations

import pytest
from confusable_homoglyphs import confusables as library
from confusable_homoglyphs import utils

from p2pchat.security import confusables


def test_look_alike_nicks_share_a_skeleton_and_others_do_not() -> None:
    assert confusables.skeletons("b0b") & confusables.skeletons("bob")
    assert confusables.skeletons("\u0430lice") & confusables.skeletons("alice")  # Cyrillic a
    assert confusables.skeletons("Il1") & confusables.skeletons("lll")
    assert not confusables.skeletons("alice") & confusables.skeletons("bob")


def test_the_data_read_from_the_package_is_the_librarys() -> None:
    assert confusables._data() == library.confusables_data


def test_each_character_maps_to_the_smallest_of_its_class() -> None:
    data = library.confusables_data
    for char in ("0", "O", "o", "l", "I", "\u0430", "\u03bf"):
        members = {char} | {g["c"] for g in data.get(char, ())}
        members |= {g["c"] for m in list(members) for g in data.get(m, ())}
        assert confusables._class_of(char) == min(m for m in members if len(m) == 1)
    assert "\u2603" not in data and confusables._class_of("\u2603") == "\u2603"  # itself


def test_the_library_loads_the_data_when_told_to_look_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(confusables.DATA_DIR_ENV, utils.PACKAGE_DIR)
    confusables._data.cache_clear()
    try:
        assert confusables._data() is library.confusables_data
    finally:
        confusables._data.cache_clear()
