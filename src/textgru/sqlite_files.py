"""Looking into a SQLite file without changing it (opened read-only: no tables, journal or schema added), to tell
whose database it is before a library that would write to it opens it."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)
LOCKED_FIX = "another process holds the SQLite file mid-write: let it finish (or end it) and run again"


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


def warn_if_write_locked(db: Path) -> None:
    """A warning where another connection holds a write lock on the SQLite file `db` now, which MLflow waits for
    without a word (a review: ~25 s, then "database is locked"). Asked for, waiting up to 1 s (another run's writes of a
    few ms are no lock: a review), and given back at once (nothing written)."""
    if not os.path.isfile(db):
        return
    try:
        connection = sqlite3.connect(db, timeout=1.0, isolation_level=None)  # a write of a moment is no lock
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    except sqlite3.Error as e:
        if "locked" in str(e):
            log.warning("the SQLite store %s is locked (another process holds it mid-write); waiting for it, as MLflow "
                        "does for about 25 s", db)  # fmt: skip
