"""Text that is not Unicode: count a file's bytes that are not UTF-8 (read as U+FFFD) and say so once per file;
read a command-line argument's such bytes the same way; one line for a lone surrogate handed to the Python API."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from textgru.errors import TextgruError

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


def from_command_line(text: str, name: str) -> str:
    """An argument (`text=`, `prompt=`) with the bytes that are not UTF-8 read as U+FFFD, as a file's are, with a
    warning: Python hands them over as lone surrogates (surrogateescape), which the tokenizer refuses."""
    try:
        fixed = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte
        fixed = text.encode("utf-8", "replace").decode("utf-8")
    if fixed != text:
        log.warning("%s: characters that are not UTF-8 were replaced by U+FFFD", name)
    return fixed


def check_unicode(texts: Sequence[str], what: str = "text") -> None:
    """One line naming the first text that holds a lone UTF-16 surrogate (JSON's "\\ud800"; not Unicode text,
    and the tokenizer's own error is an unreadable TypeError)."""
    for i, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise TextgruError(
                f"{what if len(texts) == 1 else f'{what} {i}'} holds a lone UTF-16 surrogate ({text[e.start]!r} at character {e.start}), which is not "
                "Unicode text; pass valid text (decode bytes with errors='replace')"
            ) from None
        except AttributeError:  # not a str: the caller's own check names it
            pass
