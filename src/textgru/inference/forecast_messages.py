"""What `Forecaster.evaluate`'s one-line errors say: the model's columns named as the model's, and the Python
arguments named as such, not as the command line's `data.` keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
        raise TextgruError(
            f"this model forecasts {columns}: {missing}; rename the file's columns to the model's"
        ) from None


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
