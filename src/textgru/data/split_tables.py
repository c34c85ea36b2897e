"""One split's data files read with `datasets`: together where they agree, each by itself where their columns or
Parquet label names differ (read together, every file took the first's)."""

from __future__ import annotations

import glob
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from datasets import ClassLabel, Dataset, Features, Value, concatenate_datasets, load_dataset

from textgru.data.delimited_tables import as_written, header_of
from textgru.data.json_lines import json_value, read_as_json_lines
from textgru.errors import TextgruError
from textgru.local_paths import os_absolute


def parquet_rows(path: str) -> int | None:
    """The rows a Parquet file holds, by its footer; None where that cannot be read (its reader names the problem)."""
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path).num_rows
    except Exception:
        return None


def _parquet_features(path: str) -> Features | None:
    import pyarrow.parquet as pq

    try:
        return Features.from_arrow_schema(pq.read_schema(path))  # with `datasets`' label names, where it wrote them
    except Exception:
        return None


def _read(fmt: str, split: str, files: list[str], kwargs: dict) -> Dataset:
    if fmt == "csv":  # every column as text, where these files share one header
        kwargs = {**kwargs, **as_written(files, kwargs)}
    # `datasets` reads a data file's name as a glob: escaped, reviews[1].csv is not reviews1.csv (a review),
    # and drops a `..` after a linked folder textually: given as the OS resolves it, it reads the file the OS names
    named = [glob.escape(os_absolute(f)) for f in files]
    return load_dataset(fmt, data_files={split: named}, **kwargs)[split]


def _together(fmt: str, split: str, files: list[str], kwargs: dict, wanted: Sequence[str]) -> Dataset | None:
    """The files read together, or None where they differ: in their columns (`datasets` fills a column a later file
    lacks with nulls, and refuses one it adds) or in their Parquet label names (read as the first file's)."""
    if fmt == "parquet":
        features = [_parquet_features(f) for f in files]
        same = None in features or all(f == features[0] for f in features)
        return _read(fmt, split, files, kwargs) if same else None
    if fmt == "csv":
        headers = [header_of(f, kwargs) for f in files]
        same = None in headers or len({frozenset(h) for h in headers if h is not None}) == 1
        return _read(fmt, split, files, kwargs) if same else None
    try:
        ds = _read(fmt, split, files, kwargs)
    except Exception:
        columns = [column_names(fmt, f, kwargs) for f in files]
        if None in columns or len({frozenset(c) for c in columns if c is not None}) == 1:  # one that does not parse:
            raise  # the caller names it
        return None
    # a JSON file without the key, or rows without a value (unlabelled ones, common): its keys tell them apart
    if any(c in ds.column_names and ds.data.column(c).null_count for c in wanted):
        refuse_lacking({f: _json_keys(f, wanted) or column_names(fmt, f, kwargs) or [] for f in files}, wanted)
    return ds


def _json_keys(path: str, wanted: Sequence[str]) -> list[str] | None:
    """The keys of a JSON (Lines) file's rows, its columns, read without `datasets` (a review: each file read and
    cached again, as each file of a split with a null label did), up to the row where all of `wanted` are seen; None
    where its rows are not all objects (the reader's to name)."""
    keys: dict[str, None] = {}
    try:
        if read_as_json_lines(path):
            with open(path, encoding="utf-8-sig", errors="replace") as f:
                for line in filter(str.strip, f):
                    row = json_value(line)
                    if not isinstance(row, dict):
                        return None
                    keys.update(dict.fromkeys(row))
                    if wanted and all(c in keys for c in wanted):
                        break
            return list(keys)
        rows = json_value(Path(path).read_text(encoding="utf-8-sig", errors="replace"))
    except json.JSONDecodeError:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        return None
    return list(dict.fromkeys(k for row in rows for k in row))


def column_names(fmt: str, path: str, kwargs: dict) -> list[str] | None:
    """The column names of one data file read alone; None if it cannot be read alone either."""
    try:
        return list(_read(fmt, "train", [path], kwargs).column_names)
    except Exception:
        return None


def refuse_lacking(columns_of: Mapping[str, Sequence[str]], wanted: Sequence[str]) -> None:
    """One line for a file without a wanted column (the text or label column) that another file has; one no file
    has is `standardize`'s to name, with the columns there are."""
    for column in wanted:
        having = next((f for f, cs in columns_of.items() if column in cs), None)
        lacking = next((f for f, cs in columns_of.items() if column not in cs), None)
        if having is not None and lacking is not None:  # a review: a test file without labels "has no label; fill
            raise TextgruError(  # it in", its absent column read as an empty one
                f"{lacking!r} has no column {column!r}, but {having!r} has; its columns are "
                f"{list(columns_of[lacking])}: give every data file the {column!r} column"
            )


def _by_names(ds: Dataset, column: str) -> Dataset:
    """A ClassLabel column as its label names (strings), as the file wrote them."""
    names = ds.features[column].names
    features = ds.features.copy()
    features[column] = Value("string")
    return ds.map(
        lambda b: {column: [names[v] if v is not None and 0 <= v < len(names) else None for v in b[column]]},
        batched=True,
        features=features,
    )


def read_split(fmt: str, split: str, files: list[str], kwargs: dict, wanted: Sequence[str]) -> Dataset:
    """A split's files as one Dataset; read together unless they differ, else each by itself, keeping the columns
    every file has (of `wanted`, where each has them) and Parquet label integers as their own file's names, each
    column cast to the first file's type (the first with a value: nulls or NaN only take the others') where it holds
    another; the label column (`wanted[1]`) only within its kind, numbers, text or bool (a cast across one merged
    or split its classes)."""
    if fmt == "parquet":  # a file without rows adds none (its reader fails on it: "BatchSize must be greater than 0")
        files = [f for f in files if parquet_rows(f) != 0] or files
    if len(files) == 1:
        return _read(fmt, split, files, kwargs)
    if (together := _together(fmt, split, files, kwargs, wanted)) is not None:
        return together
    parts = {f: _read(fmt, split, [f], kwargs) for f in files}
    refuse_lacking({f: ds.column_names for f, ds in parts.items()}, wanted)
    keep = [c for c in parts[files[0]].column_names if all(c in ds.column_names for ds in parts.values())]
    if wanted and all(c in keep for c in wanted):  # else one no file has: `standardize` names the columns every
        keep = list(wanted)  # file has
    parts = {f: ds.select_columns(keep) for f, ds in parts.items()}
    named: set[str] = set()  # files whose label integers became their names
    for column in keep:
        if any(isinstance(ds.features[column], ClassLabel) for ds in parts.values()) and any(
            ds.features[column] != parts[files[0]].features[column] for ds in parts.values()
        ):  # a review: feb.parquet's labels (neg, pos) read as jan's (neg, neutral, pos): its pos trained as neutral
            named.update({f for f, ds in parts.items() if isinstance(ds.features[column], ClassLabel)})
            parts = {f: _by_names(ds, column) if isinstance(ds.features[column], ClassLabel) else ds
                     for f, ds in parts.items()}  # fmt: skip
    null = Value("null")  # a column of nulls only: `concatenate_datasets` gives it the others' type
    empty = {(f, c) for f, c in itertools.product(files, keep) if _empty(parts[f], c)}
    typed = {c: next((f for f in files if (f, c) not in empty), files[0]) for c in keep}
    for f, c in itertools.product(files, keep):
        its, firsts = parts[f].features[c], parts[typed[c]].features[c]
        if (f, c) in empty:  # a review: pandas' unlabelled shard (all NaN, float64) first refused string labels;
            parts[f] = parts[f] if its == null else _nulls(parts[f], c, firsts)  # NaN cast to text was a class
            continue
        if its == firsts:
            continue
        if (f in named) != (typed[c] in named) and _texts(its) != _texts(firsts):  # names beside plain numbers: read
            raise TextgruError(  # together, the numbers were the first file's names; cast, a 5th and 6th class
                f"column {c!r} holds label names (a ClassLabel) in {(f if f in named else typed[c])!r} but plain "
                f"numbers in {(typed[c] if f in named else f)!r}; give every data file of a split the same kind of labels"
            )
        if c in wanted[1:] and (_kind(its) is None or _kind(its) != _kind(firsts)):  # a review: bool labels beside
            raise _mixed(c, its, f, firsts, typed[c])  # 0/1/2 trained as False/True, "neg"/"pos" beside 0/1 as 4
        try:  # as read together (a review: shards of int64 and float64 labels, a null in one, or int32, or string and
            parts[f] = parts[f].cast_column(c, firsts)  # large_string texts were refused)
        except (ValueError, TypeError, NotImplementedError) as e:  # 1.5 or "pos" as int64, a list as text
            raise _mixed(c, its, f, firsts, typed[c]) from e
    return concatenate_datasets(list(parts.values()))


def _mixed(column: str, its: object, path: str, firsts: object, first: str) -> TextgruError:
    """The one line for a file whose column holds another kind of value than the first's."""
    return TextgruError(
        f"column {column!r} holds {its} in {path!r} but {firsts} in {first!r}; give every data file of a split one "
        "kind of value in a column"
    )


def _empty(ds: Dataset, column: str) -> bool:
    """Whether a column holds nulls only, or NaN (pandas' for a column without values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = ds.data.column(column)
    if values.null_count == len(values):
        return True
    return pa.types.is_floating(values.type) and bool(pc.all(pc.is_nan(values.fill_null(math.nan))).as_py())


def _nulls(ds: Dataset, column: str, feature: object) -> Dataset:
    """A column of nulls only as nulls of another type (NaN cast to text would be "nan")."""
    features = ds.features.copy()
    features[column] = feature
    return ds.map(lambda b: {column: [None] * len(b[column])}, batched=True, features=features)


def _kind(feature: object) -> str | None:
    """A label column's kind of value, which a cast keeps to: numbers, text (bytes are read as UTF-8 text) or bool;
    None for any other."""
    dtype = feature.dtype.removeprefix("large_") if isinstance(feature, Value) else ""
    if dtype in ("string", "binary", "bool"):
        return "bool" if dtype == "bool" else "text"
    return "number" if dtype.startswith(("int", "uint", "float")) else None


def _texts(feature: object) -> bool:
    """Whether a column's feature holds text."""
    return isinstance(feature, Value) and feature.dtype in ("string", "large_string")
