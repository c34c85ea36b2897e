"""Text that came from a file or a model, made safe to show on a terminal: control and format characters shown
escaped (`\\x1b`), so that an ANSI sequence in a checkpoint's label, version or vocabulary cannot clear the screen,
retitle the window or fake an `error:` line of its own (a security review)."""

from __future__ import annotations

import unicodedata


def escaped_controls(text: str, keep: str = "") -> str:
    """`text` with every control (Cc) and format (Cf: bidi overrides ...) character but those in `keep` written as
    its Python escape."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in keep
        else ch
        for ch in text
    )
