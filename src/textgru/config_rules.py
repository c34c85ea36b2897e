"""Kinds of rules for config values (an integer in a range, a number in an interval, one of some choices, a text ...):
each says whether a value is valid and, if not, what a valid one is, in words a user can act on. Paths' kinds are in
`config_path_rules`; each key's rule in `config_rules_train` and `config_rules_commands`, applied by `config_checks`."""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class Rule:
    """A rule for one key: `problem(value)` is None for a valid value, else what a valid one is, in words; `null`
    says whether null is valid (the YAML may use null for "off"); `what` says what the value is for (shown after
    the rule in brackets)."""

    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:  # pragma: no cover - every rule kind overrides it
        raise NotImplementedError


def int_like(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def number_like(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bounds(lo: float | None, hi: float | None, lo_open: bool = False, hi_open: bool = False) -> str:
    def shown(x: float) -> str:
        return str(x) if isinstance(x, int) else f"{x:g}"

    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{shown(lo)}, {shown(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {shown(lo)}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {shown(hi)}"
    return ""


def _or_null(text: str, null: bool) -> str:
    return f"{text}, or null" if null else text


@dataclass(frozen=True)
class Int(Rule):
    """An integer in [lo, hi]; `text`: a digit string is read as the integer (free-text options)."""

    lo: int | None = None
    hi: int | None = None
    null: bool = False
    what: str = ""
    text: bool = False

    def problem(self, value: Any) -> str | None:
        if self.text and isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            value = int(value)
        ok = int_like(value) and (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)
        return None if ok else _or_null(f"an integer{_bounds(self.lo, self.hi)}", self.null)


@dataclass(frozen=True)
class Num(Rule):
    """A finite number (an integer is a number too) in the interval the bounds give."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        ok = number_like(value) and math.isfinite(value)
        if ok and self.lo is not None:
            ok = value > self.lo if self.lo_open else value >= self.lo
        if ok and self.hi is not None:
            ok = value < self.hi if self.hi_open else value <= self.hi
        return None if ok else _or_null(f"a number{_bounds(self.lo, self.hi, self.lo_open, self.hi_open)}", self.null)


@dataclass(frozen=True)
class Bool(Rule):
    """true or false (Hydra reads them as booleans; "maybe" stays a text and is refused)."""

    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else _or_null("true or false", self.null)


@dataclass(frozen=True)
class OneOf(Rule):
    """One of `choices`, of the same type (the integer 16 and the text "16" are different choices)."""

    choices: tuple[Any, ...] = ()
    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        if any(value == c and type(value) is type(c) for c in self.choices):
            return None
        return _or_null("one of " + ", ".join(dict.fromkeys(str(c) for c in self.choices)), self.null)


@dataclass(frozen=True)
class Text(Rule):
    """A string (not a number or a list); `empty`: whether "" is valid; `pattern`: a regex it must match;
    `most_bytes`: its longest length in UTF-8 (a file name: 255), 0 for any."""

    null: bool = False
    empty: bool = False
    pattern: str = ""
    most_bytes: int = 0
    shape: str = "a non-empty text"
    what: str = ""

    def problem(self, value: Any) -> str | None:
        ok = isinstance(value, str) and (self.empty or value.strip() != "")
        if ok and self.pattern:
            ok = re.fullmatch(self.pattern, value) is not None
        if ok and self.most_bytes:
            ok = len(value.encode("utf-8", "surrogateescape")) <= self.most_bytes
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # a review: study_name=123 refused for a /
            return f"{_or_null(self.shape, self.null)}; it was read as a number: write it in quotes to keep it as text (key='\"...\"' in a shell)"
        return None if ok else _or_null(self.shape, self.null)


@dataclass(frozen=True)
class Duration(Rule):
    """Lightning's `max_time`: "DD:HH:MM:SS" or a dict of days/hours/minutes/seconds."""

    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        if isinstance(value, str) and re.fullmatch(r"\d+:\d{1,2}:\d{1,2}:\d{1,2}", value.strip()):
            return None
        units = ("days", "hours", "minutes", "seconds")
        if isinstance(value, Mapping) and value and all(k in units and number_like(v) for k, v in value.items()):
            return None
        return _or_null('a duration "DD:HH:MM:SS" (e.g. 00:01:30:00 for 90 minutes) or {minutes: 90}', self.null)


@dataclass(frozen=True)
class ListOf(Rule):
    """A list (of `length` items, when given) whose every item passes `item`."""

    item: Rule = Text()
    length: int | None = None
    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        n = f"{self.length} " if self.length else ""
        each = self.item.problem(object())  # what an invalid item is told: the item rule in words
        need = _or_null(f"a list of {n}items, each {each}", self.null)
        if not isinstance(value, Sequence) or isinstance(value, str):
            return need
        if self.length is not None and len(value) != self.length:
            return need
        return need if any(self.item.problem(v) for v in value) else None


@dataclass(frozen=True)
class MapOf(Rule):
    """A mapping of non-empty text keys whose every value passes `item` (e.g. tags {team: nlp})."""

    item: Rule = Text()
    null: bool = False
    what: str = ""
    reserved: tuple[str, ...] = ()  # key prefixes textgru sets (tags: "textgru.", "mlflow.parentRunId" ...)

    def problem(self, value: Any) -> str | None:
        need = _or_null(f"a mapping {{name: value}} with each value {self.item.problem(object())}", self.null)
        if not isinstance(value, Mapping):
            return need
        if own := [k for k in value if self.reserved and str(k).startswith(self.reserved)]:  # a review: taken
            return f"a mapping whose names do not begin with {' or '.join(self.reserved)}, set by textgru ({own[0]})"
        if any(isinstance(v, Mapping) for v in value.values()):  # a review: tags.a.b=x made {a: {b: x}}
            return f"{need}; a name with dots goes in one mapping: '++<this key>={{a.b: value}}'"
        bad_key = any(not isinstance(k, str) or not k.strip() for k in value)
        return need if bad_key or any(self.item.problem(v) for v in value.values()) else None


@dataclass(frozen=True)
class AnyOf(Rule):
    """Valid when one of `rules` accepts the value; `shape` says in words what is valid."""

    rules: tuple[Rule, ...] = ()
    shape: str = ""
    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        return None if any(r.problem(value) is None for r in self.rules) else _or_null(self.shape, self.null)


@dataclass(frozen=True)
class When(Rule):
    """The rule for this key depends on another key's value (`data.path` on `data.source`); no entry: not checked."""

    key: str = ""
    rules: Mapping[Any, Rule] | None = None
    otherwise: Rule | None = None  # the rule for the other values

    def pick(self, other: Any) -> Rule | None:
        """The rule for this key when the other key's value is `other`."""
        return (self.rules or {}).get(other, self.otherwise) if isinstance(other, (str, bool, int)) else None


@dataclass(frozen=True)
class IPAddress(Rule):
    """An IPv4 or IPv6 address written out (127.0.0.1, ::1, 0.0.0.0, 192.168.1.5), not a host name."""

    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        try:
            ipaddress.ip_address(value if isinstance(value, str) else "-")
        except ValueError:
            return _or_null("an IP address such as 127.0.0.1 or ::1 (not a host name)", self.null)
        return None


@dataclass(frozen=True)
class Named(Rule):
    """One of `names`, in any case (as Lightning reads its strategy names); a wrong one is told the closest name and
    the `usual` ones."""

    names: tuple[str, ...] = ()
    usual: tuple[str, ...] = ()
    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        if isinstance(value, str) and value.lower() in self.names:
            return None
        close = difflib.get_close_matches(str(value).lower(), self.names, n=1)
        return f"one of {', '.join(self.usual)} ..." + (f"; did you mean {close[0]}?" if close else "")
