"""Looking into a SQLite file without changing it (opened read-only: no tables, journal or schema added), to tell
whose database it is before a library that would write to it opens it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def read_only_rows(db: Path, sql: str) -> list[tuple] | None:
    """The rows `sql` selects from the SQLite file `db`; None where SQLite cannot read it (not a database, or no
    such table)."""
    try:
        connection = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return None


def is_sqlite_file(db: Path) -> bool:
    """Whether the file starts as every SQLite database does (an unreadable one: True, SQLite says why)."""
    try:
        with open(db, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return True
