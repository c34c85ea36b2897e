"""Override values as the command line writes them, and sweeps (`a=1,2`, `choice(...)`, `interval(...)`,
`range(...)`) as the values they stand for: their first (to probe a config before a sweep starts) or each one that
must pass the key's rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def override_value(value: Any) -> str:
    """A parsed override value written back in Hydra's override syntax."""
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def first_of_sweep(value: Any) -> Any:
    """A parsed Hydra sweep's first value (a choice's first option, an interval's or range's start); any other
    value as it is."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    if isinstance(value, ChoiceSweep) and value.list:
        return _text(value.list[0])
    if isinstance(value, (IntervalSweep, RangeSweep)):
        return value.start
    return value


def sweep_values(value: Any) -> list[Any]:
    """The values a parsed Hydra override can take, for checking: each choice, both ends of an interval or range
    (its last value, not its stop), or the value itself."""
    import math

    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    if isinstance(value, ChoiceSweep):
        return [_text(v) for v in value.list]
    if isinstance(value, IntervalSweep):
        return [value.start, value.end]
    if isinstance(value, RangeSweep):
        n = math.ceil((value.stop - value.start) / (value.step or 1))
        return [value.start, value.start + (n - 1) * (value.step or 1)] if n > 0 else []
    return [value]


def _text(value: Any) -> Any:
    """A sweep's quoted option (`a='x,y','z'`: Hydra's `QuotedString`) as its text; any other value as it is (a
    review: the QuotedString reached the checks, and every quoted sweep was refused)."""
    from hydra.core.override_parser.types import QuotedString

    return value.text if isinstance(value, QuotedString) else value


def check_sweeps_not_given_again(overrides: Sequence[Any]) -> None:
    """One line where a grid sweep's key is given again after it, in parsed `overrides` (a review: `-m seed=1,2
    seed=3` ran one job, seed 3, unsaid: Hydra keeps a key's last value). A value before its sweep is Hydra's."""
    from textgru.errors import TextgruError

    for i, o in enumerate(overrides):
        key = o.get_key_element().lstrip("+~")
        again = [a for a in overrides[i + 1 :] if a.get_key_element().lstrip("+") == key]
        if o.is_sweep_override() and again:
            raise TextgruError(
                f"{o.input_line} is a sweep, and {again[0].input_line} after it gives {key} again: only the last "
                f"counts, and the sweep would not run; give {key} once, its values in one sweep ({key}=a,b,c)"
            )


def check_grid_sweep(override: Any) -> None:
    """One line for a parsed override a grid sweep (`-m`, `textgru.sweep`) cannot run (a review): an `interval()`,
    which only a search draws from (Hydra's traceback), or a `range()` that holds no value (0 jobs, silently)."""
    from hydra.core.override_parser.types import IntervalSweep, RangeSweep

    from textgru.errors import TextgruError

    value = override.value() if override.is_sweep_override() else None
    if isinstance(value, IntervalSweep):
        key, spec = override.get_key_element(), override.input_line.partition("=")[2]
        raise TextgruError(  # (a review: the search it named was a traceback without hparams_search=NAME)
            f"{override.input_line}: a grid sweep (-m) runs listed values, and an interval has no list; list them "
            f"({key}=a,b,c) or search it: textgru tune hparams_search=sentiment (or lm, ...) "
            f"'++hparams_search.params={{{key}: \"{spec}\"}}' (its space plus yours)"
        )
    if isinstance(value, RangeSweep) and not sweep_values(value):
        raise TextgruError(f"{override.input_line} holds no value; give a range that holds some (range(1,4): 1, 2, 3)")


def first_values(overrides: list[str]) -> list[str] | None:
    """The overrides with each sweep replaced by its first value; None when they cannot be probed (unparsable text,
    a glob, whose options are only known to Hydra)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Glob

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:
        return None
    probe = []
    for override in parsed:
        sweep = override.value() if override.is_sweep_override() else None
        if isinstance(sweep, Glob):
            return None
        first = f"{override.get_key_element()}={override_value(first_of_sweep(sweep))}" if sweep is not None else None
        probe.append(first or override.input_line)
    return probe


def sweep_options(override: str) -> list[str]:
    """The values a sweep override takes, as text (`task=sentiment,lm` -> sentiment, lm); [] where none are listed."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_override(override)
        return list(parsed.sweep_string_iterator()) if parsed.is_sweep_override() else []
    except Exception:  # a glob, an interval: options only Hydra knows
        return []


def tokenizer_overrides(settings: Mapping[str, Any]) -> str:
    """The `tokenizer=` overrides that set these values, in Hydra's syntax (the kind first, as a group choice)."""
    kind = [f"tokenizer={settings['kind']}"] if "kind" in settings else []
    return " ".join([*kind, *(f"tokenizer.{k}={override_value(v)}" for k, v in settings.items() if k != "kind")])
