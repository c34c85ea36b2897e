"""Warnings about label names that are more often a mistake in the file than a class: one number written
differently ("1", "01", "1.0"), a missing-value placeholder ("NA", "NaN", "null") read as a label, and more labels
than the training rows can teach."""

from __future__ import annotations

import logging
from collections.abc import Sequence

log = logging.getLogger(__name__)

# a spreadsheet's or pandas' words for a missing value; not "none" or "-", which are classes (stance, polarity: a
# review of the first list)
PLACEHOLDERS = frozenset({"na", "n/a", "nan", "null", "#n/a"})
MANY_LABELS = 100  # from here, few rows a label is worth a word (ten labels with 8 rows each is a small data set)
ROWS_PER_LABEL = 10  # fewer training rows a label than this, on average


def warn_few_rows_per_label(labels: int, rows: int, source: str, sampled: bool = False) -> None:
    """A warning where there are `MANY_LABELS` or more and fewer than `ROWS_PER_LABEL` training rows for each on
    average (a review: 5,000 labels from 20,000 rows trained for minutes without a word, to a macro-F1 near 0): a
    column of near-unique values (an id, a title) read as the label, or too little data for this many classes.
    `sampled`: the rows are a few-label run's sample (`data.train_size`/`train_fraction`), which the line names."""
    if labels < MANY_LABELS or rows >= ROWS_PER_LABEL * labels:
        return
    said = f"{source}: {labels:,} labels and {rows:,} training rows, {rows / labels:.1f} a label on average"
    if sampled:  # chosen (a learning curve): the label column is not in doubt (a review: it was asked)
        log.warning("%s (data.train_size / data.train_fraction): few to learn each label from", said)
    else:
        log.warning(
            "%s: few to learn each label from, and their scores will be noisy; is data.label_column the label (a "
            "column of names or ids is not)? If it is, more data or data.ignore_labels for the rare labels helps",
            said,
        )


def warn_doubtful_label_names(names: Sequence[str], source: str) -> None:
    """Labels are kept as written: a warning (not a refusal: "NA" may be a real class) for each doubtful kind."""
    _warn_one_number_written_differently(names, source)
    if placeholders := [n for n in names if n.strip().lower() in PLACEHOLDERS]:
        log.warning(  # a review: "NA" rows trained as a class without a word
            "%s: label(s) %s look like a missing value but are classes of their own; if those rows have no label, "
            "leave the cells empty (rows without a label are left out) or name them in data.ignore_labels",
            source,
            placeholders,
        )


def _warn_one_number_written_differently(names: Sequence[str], source: str) -> None:
    """Labels are kept as written ("01" and "1" are two classes: codes, not numbers); a warning where they look like
    one number written differently ("1", "01", "1.0"), which is more often a mistake."""
    by_number: dict[float, list[str]] = {}
    for n in names:
        try:
            by_number.setdefault(float(n), []).append(n)
        except ValueError:
            continue
    alike = [spellings for spellings in by_number.values() if len(spellings) > 1]
    if alike:
        log.warning(
            "%s: labels %s are each one number written differently and are separate classes; write them alike in "
            "the file to merge them",
            source,
            " ".join("/".join(a) for a in alike[:5]),
        )
