"""What a forecasting CSV's cells say before they become a series: numbers written with thousands separators, columns
that are numbers but for a few cells, and rows out of time order (a file written newest first)."""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np

from textgru.data.written_numbers import decimal_commas, marked_numbers
from textgru.errors import TextgruError

log = logging.getLogger(__name__)

THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?|[+-]?\d+(\.\d+)?")  # 2,007.5 or 12.5; not 2,5 or 0,125


def read_thousands_separated(df: Any, skip: str | None, name: str) -> Any:
    """`df` with every text column whose cells are all numbers, some with thousands separators ("2,007.5", as Excel
    and pandas' `{:,}` write them), read as numbers (pandas reads them as text, which every numeric column left out
    without a word); `skip`: the time column. A warning per column."""
    import pandas as pd

    for c in df.columns:
        if c == skip or pd.api.types.is_numeric_dtype(df[c]) or df[c].dtype == bool:
            continue
        cells = df[c].dropna().astype(str).str.strip()
        if len(cells) and cells.str.contains(",").any() and cells.str.fullmatch(THOUSANDS.pattern).all():
            df[c] = pd.to_numeric(df[c].astype(str).str.replace(",", "", regex=False).where(df[c].notna()))
            log.warning(
                "%s: column %r is read as numbers written with thousands separators (%r); if it is not a series, name "
                "the series with data.columns=[...]",
                name,
                c,
                cells[cells.str.contains(",")].iloc[0],
            )
    return df


def time_order(times: Any, time_column: str, name: str, frame: bool = False) -> np.ndarray | None:
    """The row order that puts a file's rows in time order (a stable sort), with a warning, when they are not in it;
    None keeps the file's order: rows already in order, or times that do not all read as numbers or ISO 8601 dates and
    times (a day-first 02/01/2020 could be either month, a bare 23:00 has no day, Jan repeats each year). A time given
    twice is a warning; such rows keep their file order. Rows are named as in the file (the header is row 1), or with
    `frame` as a DataFrame's positions (`.iloc`, from 0)."""
    import pandas as pd

    def at(i: int) -> str:  # a review: a DataFrame's rows were named as a file's, two past their positions
        return f"position {i} (.iloc)" if frame else f"row {i + 2}"

    unordered = (
        "%s: the times in %s do not read as numbers or ISO 8601 dates (2021-02-03), so they are not checked: the rows "
        "are used in the file's order, which must be oldest first; write them as ISO 8601 to have them sorted"
    )
    if isinstance(times.dtype, pd.PeriodDtype):  # to_period("D") frames (a review: a traceback from to_datetime)
        times = times.dt.start_time
    if times.dtype == bool:  # a review: a traceback from to_datetime (a Hydra one on the command line)
        raise TextgruError(
            f"{name}: {time_column} holds true/false values, not times; name a column of dates or numbers as the time "
            "column, or leave it out"
        )
    if pd.api.types.is_timedelta64_dtype(times):  # elapsed times (a review: a TypeError from tz_convert)
        keys = times.dt.total_seconds().to_numpy(dtype=np.float64)
    elif pd.api.types.is_numeric_dtype(times):
        keys = times.to_numpy(dtype=np.float64)
    else:  # "2020-07-18 " of a file written "date , y" (a review of the forecaster: read in file order, backwards)
        times = times.map(lambda cell: cell.strip() if isinstance(cell, str) else cell)
        try:  # utc: offsets that differ (+02:00, Z) compare as the instants they are
            keys = pd.to_datetime(times, format="ISO8601", utc=True).dt.tz_convert(None).to_numpy()
        except (ValueError, TypeError, OverflowError):  # which cells do not read: as dates, or as numbers
            keys = pd.to_datetime(times, format="ISO8601", utc=True, errors="coerce").dt.tz_convert(None).to_numpy()
            numbers = pd.to_numeric(times, errors="coerce").to_numpy(dtype=np.float64)
            keys = numbers if np.isfinite(numbers).sum() > (~pd.isna(keys)).sum() else keys
    if pd.isna(keys).any():
        if times.isna().all():
            raise TextgruError(f"{name}: {time_column} is empty in every row; fill it, or leave data.time_column out")
        if pd.isna(keys).all():  # another format throughout (US dates, month names): newest first went unseen
            log.warning(unordered, name, time_column)
            return None
        # most read: a blank or mistyped cell turned sorting off (a review: newest-first rows used as they were)
        row = int(np.flatnonzero(pd.isna(keys))[0])
        cell = times.iloc[row]
        said = "is empty" if pd.isna(cell) else f"({str(cell)[:40]!r}) is not a number or an ISO 8601 date"
        readable = keys[~pd.isna(keys)]
        if (readable[1:] < readable[:-1]).any():  # out of order, and one time cannot be placed: not guessed
            raise TextgruError(
                f"{name}: the rows are not in time order and {time_column} in {at(row)} {said}, so they cannot "
                "be sorted; fix that cell"
            )
        log.warning(
            "%s: %s in %s %s; the rows are used in the file's order (the others are in time order)",
            name, time_column, at(row), said,
        )  # fmt: skip
        return None
    repeated = len(keys) - len(np.unique(keys))
    if repeated:  # kept in the file's order among themselves (a stable sort)
        log.warning(
            "%s: %d row(s) repeat a time another row has in %s; each row is a time step", name, repeated, time_column
        )
    back = np.flatnonzero(keys[1:] < keys[:-1])
    if not len(back):
        return None
    row = int(back[0]) + 1
    log.warning(
        "%s: rows are not in time order (%s, %s=%s, comes after a later time); sorted by %s",
        name,
        at(row),
        time_column,
        times.iloc[row],
        time_column,
    )
    return np.argsort(keys, kind="stable")


def non_numbers(column: Any) -> tuple[int, int, Any] | None:
    """The cells of a CSV column that are not numbers (missing ones aside): (the first one's row in the file, the
    header being row 1; how many; its value), or None."""
    import pandas as pd

    bad = pd.to_numeric(column, errors="coerce").isna() & column.notna()
    if not bad.any():
        return None
    first = int(bad.to_numpy().argmax())
    return first + 2, int(bad.sum()), column.iloc[first]


def nearly_numeric(df: Any, columns: list[str]) -> list[tuple[str, int, int, Any]]:
    """The `columns` most of whose cells are numbers (at least 90%): (column, its first other cell's row in the
    file, how many others, that cell)."""
    found = []
    for c in columns:
        bad = non_numbers(df[c])
        if bad is None or df[c].dtype == bool:
            continue
        row, count, cell = bad
        if (df[c].notna().sum() - count) / len(df[c]) >= 0.9:  # the share of cells that are numbers
            found.append((c, row, count, cell))
    return found


def warn_of_nearly_numeric(df: Any, left_out: list[str], name: str) -> None:
    """A column left out of "every numeric column" although most of its cells are numbers (one "abc" cell made
    pandas read `close` as text, and the series silently lost it) is a warning naming its first bad row; so is one of
    numbers written with decimal commas."""
    for c, row, count, cell in nearly_numeric(df, left_out):
        log.warning(
            "%s: column %r is left out of the series: it is numbers but for %d cell(s) (row %d: %r); fix them, or "
            "name it in data.columns=[...] to be told each",
            name, c, count, row, cell,
        )  # fmt: skip
    for c in left_out:  # a review: a column of decimal commas beside a numeric time column was dropped unsaid
        if why := decimal_commas(df[c]) or marked_numbers(df[c]):
            log.warning("%s: column %r is left out of the series%s", name, c, why)
        elif df[c].isna().all():  # another: the error named 'Unnamed: 2', a column the user never wrote
            log.warning("%s: column %r has no values (a comma ending every row makes one); left out", name, c)


def warn_of_time_like(df: Any, columns: list[str], left_out: list[str], name: str) -> None:
    """A warning for a column taken as "every numeric column" that rises by one whole step every row, as a time
    index does (a review: a `year` column was forecast with the values, its error in the metrics); one line where it
    is the only one taken and `left_out` names others (another: a file of percents trained on its row counter alone;
    the caller passes none where data.time_column names the time)."""
    import pandas as pd

    for c in columns if len(columns) > 1 or left_out else ():
        steps = pd.to_numeric(df[c], errors="coerce").diff().iloc[1:]
        if len(steps) > 1 and steps.notna().all() and steps.nunique() == 1 and steps.iloc[0] > 0:
            if float(steps.iloc[0]).is_integer() and float(pd.to_numeric(df[c]).iloc[0]).is_integer():
                if columns == [c] and left_out:
                    why = next(
                        (
                            w.replace("; its", f"; {o!r}: its", 1)
                            for o in left_out
                            if (w := decimal_commas(df[o]) or marked_numbers(df[o]))
                        ),
                        "",
                    )
                    raise TextgruError(
                        f"{name}: the only numeric column, {c!r}, rises by {steps.iloc[0]:g} every row, like a time "
                        f"index, and the others ({', '.join(map(repr, left_out[:3]))}) are not numbers; set "
                        f"data.time_column={c} and name the series in data.columns=[...]{why}"
                    )
                log.warning(
                    "%s: column %r rises by %g every row, like a time index, and is forecast as a series; if it is "
                    "the rows' time, set data.time_column=%s, else name the series in data.columns=[...]",
                    *(name, c, steps.iloc[0], c),
                )


def frame_values(series: Any, columns: list[str], time_column: str | None) -> Any:
    """A DataFrame's `columns` as a (time, features) array, in time order (with `time_order`'s warning) where it holds
    the model's time column, or is indexed by it or by dates, and its rows are not; a pandas Series is a one-column
    model's frame (a review: a date-indexed Series newest first was forecast from its oldest rows, without a word).
    Anything else is returned as given."""
    import pandas as pd

    if isinstance(series, pd.Series) and len(columns) == 1:
        series = series.to_frame(columns[0])
    if not (hasattr(series, "columns") and hasattr(series, "to_numpy")):
        return series
    wanted = [*columns, time_column] if time_column else columns
    stripped = {c.strip(): c for c in series.columns if isinstance(c, str) and c not in wanted}
    renamed = {stripped[c]: c for c in wanted if c not in series.columns and c in stripped}  # training strips
    if renamed and isinstance(series, pd.DataFrame):
        series = series.rename(columns=renamed)  # a header's spaces (read_csv of "date, y" names ' y': a review)
    missing = [c for c in columns if c not in series.columns]
    if missing:
        has = ", ".join(map(repr, list(series.columns)[:10])) + " ..." * (len(series.columns) > 10)
        raise TextgruError(f"the series lacks the column(s) {missing} this model forecasts ({columns}); it has {has}")
    order, times, index = None, None, getattr(series, "index", None)
    if time_column in series.columns:  # a newest-first frame was forecast from its oldest rows
        times = series[time_column]  # a pandas column, or another frame library's (polars)
    elif isinstance(index, pd.Index) and (  # read_csv(index_col="date"), as pandas users read a series (a review:
        (time_column and index.name == time_column) or isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex))
    ):  # newest first, it was forecast from its oldest rows without a word)
        times = index.to_series(index=range(len(index)))
    if times is not None:
        times = times if isinstance(times, pd.Series) else pd.Series(np.asarray(times))
        order = time_order(times, str(getattr(times, "name", None) or "the index"), "the series", frame=True)
    frame = series[columns]
    kinds = getattr(frame, "dtypes", []) if isinstance(series, pd.DataFrame) else [object]  # not polars'
    nullable = all(  # real numbers only: complex ones are refused later (a review: cast to real, unsaid)
        pd.api.types.is_numeric_dtype(k) and not (pd.api.types.is_bool_dtype(k) or pd.api.types.is_complex_dtype(k))
        for k in kinds
    )
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan) if nullable else frame.to_numpy()  # pd.NA: NaN
    return values if order is None else values[order]
