"""A whole column of a `datasets.Dataset`, read from Arrow at once: since datasets 4, `ds["label"]` is a lazy
`Column` that iterates row by row (17 us a row here: 1.7 s per 100k rows, each time it is read; a 500k-row CSV spent
minutes before its first step), while a slice of the one column reads it whole (270x faster)."""

from __future__ import annotations

from typing import Any

from datasets import Dataset


def column_values(ds: Dataset, name: str) -> list[Any]:
    """The values of column `name`, in row order, as Python objects."""
    return ds.select_columns([name]).with_format(None)[:][name]
