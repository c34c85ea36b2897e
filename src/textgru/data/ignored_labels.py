"""`data.ignore_labels`: which labels (a file's, or label folders' names) it leaves out, and a word for any it missed."""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from textgru.data.label_key import label_key

log = logging.getLogger(__name__)

DEFAULT = ["unsup"]  # conf/data/local.yaml's: IMDB's unlabelled folder, not looked for in other data
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?", re.ASCII)  # not "1_000", "١", "nan" or "inf"


def _value(text: str) -> Decimal | None:
    """The value of a label written as a plain number ("2", "2.0", "+2", "02", "1e3"), or None."""
    try:
        return Decimal(text) if PLAIN_NUMBER.fullmatch(text) else None
    except InvalidOperation:  # an exponent past Decimal's
        return None


def _entry(label: object) -> str | Decimal:
    """What an entry matches by: a number (int or float, as Hydra reads `[3.10]` or `[+1]`: 3.1, 1) by its value, a
    text (quoted: `['3.10']`, or not a number: `[na]`, `[02]`) as written, in any case (`label_key`)."""
    if isinstance(label, bool) or not isinstance(label, (int, float)):
        return label_key(label).casefold()
    return Decimal(str(label))  # 3.1 as typed, not its binary fraction


class IgnoredLabels:
    """The labels to leave out: a number entry every label written as that number (a review: Hydra reads `[3.10]` as
    3.1 and `[+1]` as 1, so the label as written is not to be had from it; `[2]` is "2", "2.0", "+2" and "02"), a text
    entry the label as written, in any case (`[na]` is "NA"; `['3.10']` not "3.1"); the labels each matched are
    remembered, so that one line names the entries that matched nothing, and one the numbers that matched several."""

    def __init__(self, labels: Iterable[object] | None) -> None:
        self.given = list(labels or [])
        self._entries = [_entry(y) for y in self.given]
        self._texts = {e for e in self._entries if isinstance(e, str)}
        self._numbers = {e for e in self._entries if isinstance(e, Decimal)}
        self._matched: dict[str | Decimal, set[str]] = {}

    def __bool__(self) -> bool:
        return bool(self.given)

    def matches(self, label: object) -> bool:
        """Whether `label` is one to leave out (remembered as matched)."""
        key = label_key(label).casefold()
        hits: list[str | Decimal] = [key] if key in self._texts else []
        if self._numbers and (value := _value(key)) in self._numbers:
            hits.append(value)
        for e in hits:
            self._matched.setdefault(e, set()).add(key)
        return bool(hits)

    def warn_unmatched(self, where: str) -> None:
        """One line naming the ignored labels no row (or folder) of the data had, none for unsup, the default's (a
        review: `[unsup, neutral]` named it for a file); one naming the numbers that left out several labels."""
        missed = [
            y for y, e in zip(self.given, self._entries, strict=True) if e not in self._matched and e not in DEFAULT
        ]
        if missed:
            log.warning(
                "%s: data.ignore_labels %s matched no label of the data, so nothing was left out for them; labels are "
                "compared as written, in any case, a number as every label written as it: [2] is 2, 2.0 or 02 (a "
                "typo, or data.label_column another column?)",
                where,
                missed,
            )
        several = {
            e: sorted(self._matched[e]) for e in dict.fromkeys(self._entries) if len(self._matched.get(e, ())) > 1
        }
        if several:  # a review: [3.10], read as 3.1, left out "3.1" too, and trained 3.10, without a word
            log.warning(
                "%s: data.ignore_labels %s left out every label written as that number: %s (Hydra reads [3.10] as 3.1, "
                "[+1] as 1); to leave out one label as written, quote it: %s",
                where,
                [y for y, e in zip(self.given, self._entries, strict=True) if e in several],
                "; ".join(f"{e} matched {labels}" for e, labels in several.items()),
                command_arg([next(iter(several.values()))[-1]]),
            )


def ignored_labels(labels: Iterable[object] | IgnoredLabels | None) -> IgnoredLabels:
    """`labels` as an `IgnoredLabels` (one given is kept, with what it matched)."""
    return labels if isinstance(labels, IgnoredLabels) else IgnoredLabels(labels)


def command_arg(labels: Sequence[str]) -> str:
    """`data.ignore_labels=[...]` for the command line, leaving out each of `labels` as written: one Hydra reads as
    a number (3.10, +1, 1_000, nan) or a boolean is quoted (a review: the advice `[3.10]` left out 3.1 too)."""
    from textgru.console import hydra_quoted

    items = [label if plain_text(label) else hydra_quoted(label) for label in labels]
    arg = f"data.ignore_labels=[{','.join(items)}]"
    return arg if all(map(plain_text, labels)) else shlex.quote(arg)


def plain_text(value: str) -> bool:
    """Whether Hydra reads `value`, unquoted in a list, as this text: not a number (3.10, +1, 1_000, nan), a boolean
    or null, and of plain characters."""
    from textgru.console import PLAIN_VALUE

    if not PLAIN_VALUE.fullmatch(value) or value.lower() in ("true", "false", "null"):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False
