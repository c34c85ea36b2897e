"""What `Forecaster.evaluate`'s one-line errors say: the model's columns named as the model's, and the Python
arguments named as such, not as the command line's `data.` keys."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from textgru.errors import TextgruError

PYTHON_ARGUMENTS = {  # what a CSV's reader says for the command line -> what evaluate(path, ...) takes
    "set data.fill_missing=interpolate": 'pass fill_missing="interpolate"',
    "data.fill_missing=interpolate": 'fill_missing="interpolate"',
    "data.time_column ": "time_column ",
}


@contextmanager
def named_as_the_models(columns_are_the_models: bool, columns: list[str]) -> Iterator[None]:
    """A file without the model's columns is named so, not as a `data.columns` the user never gave (a review: the
    line named data.columns and gave no fix; setting data.columns to the file's was then refused)."""
    try:
        yield
    except TextgruError as e:
        said = str(e)
        if not (columns_are_the_models and said.startswith("data.columns names ")):
            raise
        missing = said.removeprefix("data.columns names ")
        fix = "" if "save it as CSV" in missing else "; rename the file's columns to the model's"  # a TSV (a review)
        raise TextgruError(f"this model forecasts {columns}: {missing}{fix}") from None


def own_columns(asked: Any, columns: list[str]) -> list[str]:
    """The model's `columns`, or one line where a data config's data.columns (`asked`) names others (None: theirs)."""
    asked = [asked] if isinstance(asked, str) else asked  # data.columns=sales: one column, as training reads it
    if asked is not None and list(asked) != columns:
        raise TextgruError(
            f"data.columns={list(asked)}, but this model forecasts {columns} (in that order); leave "
            "data.columns unset, or rename your file's columns to the model's"
        )
    return list(columns)


@contextmanager
def as_python_arguments() -> Iterator[None]:
    """A CSV's errors with `evaluate(path, time_column=..., fill_missing=...)`'s arguments named as Python takes them
    (a review of the forecaster: "set data.fill_missing=interpolate", a key evaluate() has not)."""
    try:
        yield
    except TextgruError as e:
        said = str(e)
        for cli, python in PYTHON_ARGUMENTS.items():
            said = said.replace(cli, python)
        if said == str(e):
            raise
        raise TextgruError(said) from None


def config_keywords(data: Mapping[str, Any], time_column: str | None, fill_missing: str) -> dict[str, Any]:
    """`evaluate`'s `time_column=` and `fill_missing=` as keys of the data config mapping it scores (a review: they
    were ignored, and a gap then said to set the fill_missing just passed); one line where the mapping sets another."""
    given = {"time_column": time_column, "fill_missing": None if fill_missing == "error" else fill_missing}
    unset = {"time_column": None, "fill_missing": "error"}  # a whole data config's defaults (a review: refused)
    for key, value in given.items():
        if value is not None and data.get(key, unset[key]) not in (unset[key], value):
            raise TextgruError(f"{key}={value!r} and the data config's {key}={data[key]!r}: give one of them")
    return {k: v for k, v in given.items() if v is not None}


def check_frame_keywords(data: Any, time_column: str | None, fill_missing: str) -> None:
    """One line where `evaluate`'s `time_column=` or `fill_missing=` cannot apply to an array or a DataFrame (a
    review: they were ignored without a word)."""
    if fill_missing != "error":
        raise TextgruError(
            f"fill_missing={fill_missing!r} fills a CSV file's gaps; fill an array or DataFrame first "
            "(DataFrame.interpolate()), or give the CSV file's path"
        )
    columns, index = getattr(data, "columns", None), getattr(getattr(data, "index", None), "name", None)
    if time_column is None or time_column == index or (columns is not None and time_column in list(columns)):
        return
    if columns is not None:
        raise TextgruError(f"time_column={time_column!r} is not a column of the DataFrame; it has: {list(columns)}")
    if hasattr(data, "index"):  # a pandas Series: ordered by its index (a review: "it has: [None]")
        raise TextgruError(f"time_column={time_column!r} is not the name of the Series' index ({index!r}); name it so")
    raise TextgruError(f"time_column={time_column!r}: an array has no columns; give its rows in time order")


def check_fractions(data: Mapping[str, Any], cfg: Mapping[str, Any]) -> None:
    """One line for a data config mapping's `val_fraction` or `test_fraction` that is no share of the series, or two
    that leave no training span (`cfg`: the mapping merged into the model's data config). A review: `test_fraction=2`
    scored every window, training rows too, as "test"; "abc" or None was a ValueError or TypeError traceback."""
    for key in ("val_fraction", "test_fraction"):
        if key not in data:
            continue
        try:
            share = None if isinstance(data[key], bool) else float(data[key])
        except (TypeError, ValueError):
            share = None
        if share is None or not 0 < share < 1:
            raise TextgruError(
                f"data {key}={data[key]!r}: must be a number in (0, 1), the share of the series it holds"
            )
    if float(cfg["val_fraction"]) + float(cfg["test_fraction"]) >= 1:
        raise TextgruError(
            f"data val_fraction={cfg['val_fraction']} and test_fraction={cfg['test_fraction']} add up to 1 or more: "
            "they must leave some of the series for training (a sum below 1)"
        )
