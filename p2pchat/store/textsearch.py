"""The words of a search as SQL: an FTS5 query, or LIKE patterns for a SQLite without FTS5."""

from __future__ import annotations

from collections.abc import Iterable

LIKE_ESCAPE = "\\"  # the ESCAPE character of the LIKE patterns made here


def search_terms(words: str) -> list[str]:
    """The words of a search (split on spaces) that can match: each holds a letter or digit."""
    return [word for word in words.split() if any(c.isalnum() for c in word)]


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 query that every term must match as plain words (each an FTS5 string, so
    AND, *, NEAR or quotes typed by a user are never FTS syntax)."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def like_all(column: str, terms: list[str]) -> tuple[str, dict[str, object]]:
    """A condition that column (a name in the code, never data) holds every term as is, by
    LIKE, and its bound parameters (named w0, w1...); % and _ in a term match themselves."""
    conditions = " AND ".join(f"{column} LIKE :w{i} ESCAPE '\\'" for i in range(len(terms)))
    params: dict[str, object] = {}
    for i, term in enumerate(terms):
        escaped = "".join(LIKE_ESCAPE + c if c in "\\%_" else c for c in term)
        params[f"w{i}"] = f"%{escaped}%"
    return conditions, params
