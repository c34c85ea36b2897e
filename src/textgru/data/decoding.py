"""Text that is not Unicode: count a file's bytes that are not UTF-8 (read as U+FFFD) and say so once per file;
read a command-line argument's such bytes the same way; one line for a lone surrogate handed to the Python API."""

from __future__ import annotations

import codecs
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


def undecoded_header_hint(columns: Iterable[object]) -> str:
    """A sentence to add where a column is missing and the header holds U+FFFD: the file is not UTF-8 (Latin-1 from
    Excel), so a name with an accent cannot match (a review: "data.columns names 'café'" with no word of why)."""
    garbled = next((str(c) for c in columns if "\ufffd" in str(c)), None)
    return (
        f" The header is not UTF-8 ({garbled!r} has bytes that do not read): save the file as UTF-8." if garbled else ""
    )


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


# UTF-32's little-endian mark starts with UTF-16's: the longer marks are tried first
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_bytes(data: bytes, name: str) -> str:
    """A file's (or stdin's) bytes as text: UTF-16 or UTF-32 where they start with that byte-order mark (Windows
    editors and PowerShell write UTF-16), else UTF-8 with its mark dropped; bytes that do not decode are read as
    U+FFFD, with one warning. A NUL byte in the first 8,000 (UTF-16 without its mark, a binary file) is one line."""
    for mark, codec in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                log.warning("%s: some bytes could not be decoded as %s and were replaced by U+FFFD", name, codec)
                text = data.decode(codec, errors="replace")
            return text.removeprefix("\ufeff")
    refuse_binary(data, name)
    log_undecodable(name, data.splitlines())
    return data.decode("utf-8-sig", errors="replace")


def refuse_binary(data: bytes, name: str) -> None:
    """One line for bytes with a NUL in the first 8,000 (git's rule for a binary file): UTF-16 without its mark, read
    as UTF-8, was NUL-laced texts classified without a word, even Cyrillic's 8% of NULs (two reviews)."""
    if b"\x00" in data[:8000]:
        raise TextgruError(
            f"{name} holds NUL bytes: it is not UTF-8 text (UTF-16 without a byte-order mark, or binary); save it as "
            "UTF-8 and try again"
        )


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


def lone_surrogate(text: str) -> str | None:
    """What is wrong with `text` where it holds a lone UTF-16 surrogate (JSON's "\\ud800"; not Unicode text, and the
    tokenizer's own error is an unreadable TypeError), else None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"holds a lone UTF-16 surrogate ({text[e.start]!r} at character {e.start}), which is not Unicode text"
    return None


def check_unicode(texts: Sequence[str], what: str = "text") -> None:
    """One line naming the first text that holds a lone UTF-16 surrogate: `what` where it is the only one, else
    `texts[i]`, its index in the list given, from 0, as `text_list` names a text that is not a string (was "text i")."""
    for i, text in enumerate(texts):
        if isinstance(text, str) and (problem := lone_surrogate(text)):  # not a str: the caller's own check names it
            named = what if len(texts) == 1 else f"texts[{i}]"
            raise TextgruError(f"{named} {problem}; pass valid text (decode bytes with errors='replace')")
