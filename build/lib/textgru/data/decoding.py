"""Count the bytes of a file that are not UTF-8 (they are read as U+FFFD) and say so once per file."""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


def count_undecodable(lines: Iterable[bytes]) -> tuple[int, int]:
    """(bytes, lines) that are not valid UTF-8 among byte lines (a multi-byte character never spans a newline)."""
    bad_bytes = bad_lines = 0
    for line in lines:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="surrogateescape")  # each undecodable byte becomes one lone surrogate
            bad_bytes += sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
            bad_lines += 1
    return bad_bytes, bad_lines


def log_undecodable(name: str, lines: Iterable[bytes]) -> int:
    """Count a file's bytes that are not UTF-8 and say so once (they are read as U+FFFD); returns the count."""
    bad_bytes, bad_lines = count_undecodable(lines)
    if bad_bytes:
        log.warning(
            "%s: %d bytes on %d lines could not be decoded as UTF-8 and were replaced by U+FFFD",
            name,
            bad_bytes,
            bad_lines,
        )
    return bad_bytes
