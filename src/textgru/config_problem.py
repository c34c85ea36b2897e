"""The one line that names a bad `key=value` under its rule: the value as the user typed it (quoted where the
command line would read it as another type) and what it must be."""

from __future__ import annotations

from typing import Any

from textgru.config_path_rules import ArtifactLocation, Existing, File, Folder, NewFile, StoreUri
from textgru.config_rules import Rule
from textgru.folder_probe import shortened


def shown(value: Any, raw: bool = False) -> str:
    """`value` as typed; `raw`: a free-text option's, taken verbatim (`textgru tune n_trials=20`: never quoted)."""
    if isinstance(value, str):
        if (
            _reads_as_scalar(value) and not raw
        ):  # batch_size='"8"' was shown as batch_size=8: must be an integer (a review)
            return f"{value!r} (quoted: text)"
        return value if value.strip() and value == value.strip() else repr(value)
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _reads_as_scalar(text: str) -> bool:
    """Whether `text` unquoted is a number, a bool or null on the command line, as Hydra reads it (08, None and
    Infinity are text there, 8, 1e3, inf, true and null are not: a review)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return not isinstance(OverridesParser.create().parse_override(f"x={text}").value(), str)
    except Exception:  # not readable unquoted at all: it was quoted
        return False


def problem(key: str, value: Any, rule: Rule) -> str | None:
    """The one-line message for `key=value` under `rule`, or None when it is valid."""
    if value is None and rule.null:
        return None
    why = rule.problem(value)
    if why is None:
        return None
    if isinstance(rule, (File, Existing, Folder, NewFile, StoreUri, ArtifactLocation)):
        if isinstance(value, (int, float)):  # a review: output=2024, a folder named by its year, read as a number
            typed = shown(value) if type(value) is int else "..."  # 2024.10 was read as 2024.1, true as a bool
            why += f" (a name the command line reads as a number or true/false is quoted: '{key}=\"{typed}\"')"
        return f"{key}={shortened(shown(value))} {why}"  # a path: what is wrong with it, and what to give instead
    return f"{key}={shown(value, raw=getattr(rule, 'text', False))}: must be {why}" + (
        f" ({rule.what})" if rule.what else ""
    )
