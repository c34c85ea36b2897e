"""Text that came from a file or a model, made safe to show on a terminal: control characters and the bidi
overrides shown escaped (`\\x1b`, `\\u202e`), so that an ANSI sequence in a checkpoint's label, version or vocabulary
cannot clear the screen, retitle the window or fake an `error:` line of its own, nor reordered text hide what a line
says (a security review). Other format characters (the zero-width joiners of emoji and of Persian or Hindi spelling)
are text and stay."""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")


def escaped_controls(text: str, keep: str = "") -> str:
    """`text` with every control character (Cc) and bidi override but those in `keep` written as its Python escape."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if (unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS) and ch not in keep
        else ch
        for ch in text
    )
