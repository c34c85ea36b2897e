"""What a forecasting CSV's cells say before they become a series: numbers written with thousands separators, columns
that are numbers but for a few cells, and rows out of time order (a file written newest first)."""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any

log = logging.getLogger(__name__)

THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?|[+-]?\d+(\.\d+)?")  # 2,007.5 or 12.5; not 2,5 (a decimal comma)


def read_thousands_separated(df: Any, skip: str | None, name: str) -> Any:
    """`df` with every text column whose cells are all numbers, some with thousands separators ("2,007.5", as Excel
    and pandas' `{:,}` write them), read as numbers (they were left out of the series, unseen); `skip`: the time
    column. Logged per column."""
    import pandas as pd

    for c in df.columns:
        if c == skip or pd.api.types.is_numeric_dtype(df[c]) or df[c].dtype == bool:
            continue
        cells = df[c].dropna().astype(str).str.strip()
        if (
            len(cells)
            and cells.str.contains(",").any()
            and cells.map(lambda s: THOUSANDS.fullmatch(s) is not None).all()
        ):
            df[c] = pd.to_numeric(df[c].astype(str).str.replace(",", "", regex=False).where(df[c].notna()))
            log.info("%s: column %r read as numbers written with thousands separators (%r)", name, c, cells.iloc[0])
    return df


def in_time_order(df: Any, time_column: str, name: str) -> Any:
    """`df` sorted by its time column (stably) when its rows are not in time order, with a warning; times that do not
    all read as numbers or dates leave the file's order. Times given twice are a warning."""
    import pandas as pd

    times = df[time_column]
    if not pd.api.types.is_numeric_dtype(times):
        with warnings.catch_warnings():  # "Could not infer format": the dates are then read one by one
            warnings.simplefilter("ignore")
            times = pd.to_datetime(times, errors="coerce", format="mixed")
    if times.isna().any():
        return df
    if not times.is_monotonic_increasing:
        back = int(
            (times.diff() < pd.Timedelta(0) if times.dtype.kind == "M" else times.diff() < 0).to_numpy().argmax()
        )
        log.warning(
            "%s: rows are not in time order (row %d, %s=%r, comes after a later time); sorted by %s",
            name,
            back + 2,
            time_column,
            df[time_column].iloc[back],
            time_column,
        )
        df = df.iloc[times.argsort(kind="stable")].reset_index(drop=True)
        times = times.sort_values(kind="stable")
    repeated = int(times.duplicated().sum())
    if repeated:
        log.warning(
            "%s: %d row(s) repeat a time another row has in %s; each row is a time step", name, repeated, time_column
        )
    return df


def non_numbers(column: Any) -> tuple[int, int, Any] | None:
    """The cells of a CSV column that are not numbers (missing ones aside): (the first one's row in the file, the
    header being row 1; how many; its value), or None."""
    import pandas as pd

    bad = pd.to_numeric(column, errors="coerce").isna() & column.notna()
    if not bad.any():
        return None
    first = int(bad.to_numpy().argmax())
    return first + 2, int(bad.sum()), column.iloc[first]


def warn_of_nearly_numeric(df: Any, left_out: list[str], name: str) -> None:
    """A column left out of "every numeric column" although most of its cells are numbers (one "abc" cell made
    pandas read `close` as text, and the series silently lost it) is a warning naming its first bad row."""
    for c in left_out:
        found = non_numbers(df[c])
        if found is None or df[c].dtype == bool:
            continue
        row, count, cell = found
        if (df[c].notna().sum() - count) / len(df[c]) >= 0.9:  # the share of cells that are numbers
            log.warning(
                "%s: column %r is left out of the series: it is numbers but for %d cell(s) (row %d: %r); fix them, or "
                "name it in data.columns=[...] to be told each",
                name,
                c,
                count,
                row,
                cell,
            )
