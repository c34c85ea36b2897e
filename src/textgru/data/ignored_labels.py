"""`data.ignore_labels`: which labels (a file's, or label folders' names) it leaves out, and a word for any it missed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from textgru.data.label_key import label_key

log = logging.getLogger(__name__)

DEFAULT = ["unsup"]  # conf/data/local.yaml's: IMDB's unlabelled folder, not looked for in other data


def _spellings(label: object) -> set[str]:
    """The labels an entry matches: a text as written (`label_key`, in any case: `[na]` is "NA"), a number as the
    label written as it: 2 (or 2.0) is "2" and "2.0" (the labels pandas writes for a column with a gap), 3.1 "3.1"."""
    if isinstance(label, bool) or not isinstance(label, (int, float)):
        return {label_key(label).casefold()}
    if isinstance(label, int) or label.is_integer():
        return {str(int(label)), f"{int(label)}.0"}
    return {str(label)}


class IgnoredLabels:
    """The labels to leave out, each entry matched as `_spellings` says (a review: read as numbers, `[3.1]` left out
    "3.10", which textgru trains as another class, and `[01]` "1"); the ones matched are remembered, so that one line
    names those that matched nothing."""

    def __init__(self, labels: Iterable[object] | None) -> None:
        self.given = list(labels or [])
        self._keys = set().union(*map(_spellings, self.given))
        self._matched: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.given)

    def matches(self, label: object) -> bool:
        """Whether `label` is one to leave out (remembered as matched)."""
        key = label_key(label).casefold()
        if found := key in self._keys:
            self._matched.add(key)
        return found

    def warn_unmatched(self, where: str) -> None:
        """One line naming the ignored labels no row (or folder) of the data had; none for unsup, the default's (a
        review: `[unsup, neutral]` named it for a file)."""
        missed = [y for y in self.given if not _spellings(y) & self._matched and not _spellings(y) <= set(DEFAULT)]
        if missed:
            log.warning(
                "%s: data.ignore_labels %s matched no label of the data, so nothing was left out for them; labels are "
                "compared as written, in any case, a number as the label written as it: [2] is 2 or 2.0 (a typo, or "
                "data.label_column another column?)",
                where,
                missed,
            )


def ignored_labels(labels: Iterable[object] | IgnoredLabels | None) -> IgnoredLabels:
    """`labels` as an `IgnoredLabels` (one given is kept, with what it matched)."""
    return labels if isinstance(labels, IgnoredLabels) else IgnoredLabels(labels)
