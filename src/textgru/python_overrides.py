"""The overrides and folders a Python call (`textgru.train`, `textgru.sweep`) takes, checked as the command line's
are: a list of `key=value` strings, `~` expanded as bash expands it, a folder a str or a Path."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from textgru.command_flags import removed_whole_config
from textgru.command_line_checks import read_override
from textgru.errors import TextgruError, a_kind


def is_sweep(override: str) -> bool:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_override(override).is_sweep_override()
    except Exception:
        return False


def folder_arg(value: Any, name: str) -> Any:
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TextgruError(f"{name}= takes a folder (a str or Path), not {a_kind(value)}")
    return value


def override_list(overrides: Any, call: str) -> list[str]:
    """The overrides as strings; one string alone is one line (it was read character by character: "Error parsing
    override 't'")."""
    if isinstance(overrides, str):
        raise TextgruError(f"{call}() takes a list of overrides, e.g. {call}([{overrides!r}]), not a string")
    if isinstance(overrides, Mapping):  # its keys alone would be taken, the values dropped
        example = [f"{k}={v}" for k, v in list(overrides.items())[:2]]
        raise TextgruError(f"{call}() takes a list of overrides, not a dict: {call}({example!r})")
    if not isinstance(overrides, Iterable) or isinstance(overrides, (bytes, bytearray)):
        raise TextgruError(
            f"{call}() takes a list of overrides (strings like 'model.hidden_size=64'), not {a_kind(overrides)}"
        )
    overrides = list(overrides)
    if not all(isinstance(o, str) for o in overrides):  # (a review: [None] passed a check that used None as its mark)
        bad = next(o for o in overrides if not isinstance(o, str))
        raise TextgruError(f"{call}(): each override is a string like 'model.hidden_size=64', not {a_kind(bad)}")
    for o in overrides:
        if o.startswith("-"):
            raise TextgruError(f"{call}() takes overrides (key=value), not the command line's flag {o!r}")
        if o.partition("=")[0].lstrip("+~") == "paths.run_dir" and call == "train":  # as the command line (a review:
            raise TextgruError(f"{o}: paths.run_dir follows the run folder: give {call}(..., run_dir=...) instead")
    if removed := removed_whole_config(overrides, f"{call}()"):  # a review: a traceback and a half-made run folder
        raise TextgruError(removed)
    overrides = [_home_expanded(o) for o in overrides]
    for o in overrides:
        read_override(o)  # a value Hydra cannot read: how to quote it
    return overrides


def _home_expanded(override: str) -> str:
    """`key=~/path` with the home folder written out, as bash expands it on the command line (a review: Hydra's
    grammar refuses an unquoted `~`, so `train(["resume=~/run"])` was one line of grammar)."""
    key, _, value = override.partition("=")
    return f"{key}={os.path.expanduser(value)}" if value.startswith("~") else override
