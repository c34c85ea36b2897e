"""How a resume reads an override given with it (`textgru train resume=<run> key=value`): its value as Hydra reads
it for a new run, and whether it repeats a config group choice of the command that started the run."""

from __future__ import annotations

from typing import Any

from textgru.errors import TextgruError


def group_choice(existing: Any, value: str) -> bool:
    """Whether an override of the command that started a run chose a config group or experiment (no single value in
    the saved config), or holds an interpolation (the saved config holds its resolved value)."""
    return not isinstance(existing, (str, int, float, bool, type(None))) or "${" in value


def override_value(override: str) -> Any:
    """The value of `key=value` as Hydra reads it for a new run (YAML would read 1e-3 as a string, 010 as 8)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_override(override)
    except HydraException as e:
        raise TextgruError(f"resume: cannot read {override!r}: {str(e).splitlines()[0]}") from None
    if parsed.is_sweep_override():  # a review: a traceback (a ChoiceSweep put into the config)
        raise TextgruError(f"resume: {override!r} is a sweep; a run resumes with one value (quote one with a comma)")
    return parsed.value()
