"""`data.ignore_labels`: which labels (a file's, or label folders' names) it leaves out, and a word for any it missed."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

from textgru.data.label_key import label_key

log = logging.getLogger(__name__)

DEFAULT = ["unsup"]  # conf/data/local.yaml's: IMDB's unlabelled folder, not looked for in other data


def _number(key: str) -> float | None:
    """A label read as a finite number ("2", "2.0", "+2"), or None."""
    try:
        x = float(key)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


class IgnoredLabels:
    """The labels to leave out, matched as labels are compared (`label_key`, in any case: `[na]` is "NA"), or as
    numbers where both are (a review: `[2]` kept a CSV's "2.0", the labels pandas writes for a column with a gap, and
    trained them as a class); the ones matched are remembered, so that one line names those that matched nothing."""

    def __init__(self, labels: Iterable[object] | None) -> None:
        self.given = list(labels or [])
        self._keys = {label_key(y).casefold() for y in self.given}
        self._numbers = {n for k in self._keys if (n := _number(k)) is not None}
        self._matched: set[str | float] = set()

    def __bool__(self) -> bool:
        return bool(self.given)

    def matches(self, label: object) -> bool:
        """Whether `label` is one to leave out (remembered, with its number, as matched)."""
        key = label_key(label).casefold()
        number = _number(key) if self._numbers else None
        found = key in self._keys or number in self._numbers
        if found:
            self._matched.update(x for x in (key, number) if x is not None)
        return found

    def warn_unmatched(self, where: str) -> None:
        """One line naming the ignored labels no row (or folder) of the data had; none for the default `[unsup]`."""
        missed = [y for y in self.given if not {k := label_key(y).casefold(), _number(k)} & self._matched]
        if missed and self.given != DEFAULT:
            log.warning(
                "%s: data.ignore_labels %s matched no label of the data, so nothing was left out for them; labels are "
                "compared as written, in any case or as numbers (a typo, or data.label_column another column?)",
                where,
                missed,
            )


def ignored_labels(labels: Iterable[object] | IgnoredLabels | None) -> IgnoredLabels:
    """`labels` as an `IgnoredLabels` (one given is kept, with what it matched)."""
    return labels if isinstance(labels, IgnoredLabels) else IgnoredLabels(labels)
