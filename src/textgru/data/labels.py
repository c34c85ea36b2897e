"""Turn a DatasetDict with user columns into the common form: `text` + `label` (ClassLabel), three splits."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from datasets import ClassLabel, Dataset, DatasetDict, Features, Json, Value

from textgru.data.columns import column_values
from textgru.data.label_key import label_key, label_keys
from textgru.data.label_warnings import warn_doubtful_label_names
from textgru.data.repeated_texts import drop_repeats, warn_shared_texts
from textgru.data.splitting import (
    SPLITS,
    carve_missing_splits,
    held_out_sources,
    refuse_untrained_labels,
    warn_missing_labels,
)
from textgru.delimited_texts import header_hint
from textgru.errors import TextgruError

log = logging.getLogger(__name__)


def _labelled(values: list[object]) -> list[bool]:
    """Whether each value is a label: not None, NaN or blank (as `label_key` reads it)."""
    keys = label_keys(values)
    return [not (v is None or (isinstance(v, float) and v != v) or k == "") for v, k in zip(values, keys, strict=True)]


def source_of(name: str | Mapping[str, str], split: str = "train") -> str:
    """The file (or dataset) a split was read from: `name` maps a split to its file where splits came from different
    files (data.validation_path, data.test_path); a carved split came from the training file."""
    return name if isinstance(name, str) else name.get(split, name["train"])


def _is_table(source: str) -> bool:
    """Whether `source` names CSV/TSV files (a header line of their own), not JSON Lines, Parquet or a Hub dataset."""
    return all(str(part).lower().endswith((".csv", ".tsv")) for part in str(source).split(","))


def _scalars_as_strings(ds: Dataset, column: str, labels: bool) -> Dataset:
    """A JSON column mixing numbers and strings (`datasets` reads it as `Json`) as strings, when every value is one
    number or string (`labels`: 1.0 as "1", as `label_key` compares them, and true/false as "1"/"0" beside numbers,
    one class each, not four); lists or objects stay as they are (refused next, by the caller)."""
    if not isinstance(ds.features[column], Json):
        return ds
    values = column_values(ds, column)
    if not all(v is None or isinstance(v, (str, int, float, bool)) for v in values):
        return ds
    features = ds.features.copy()
    features[column] = Value("string")
    numbers = any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)

    def label_text(v: object) -> str:
        if isinstance(v, bool) and numbers:
            return str(int(v))
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    as_text = label_text if labels else str
    return ds.map(
        lambda b: {column: [None if v is None else as_text(v) for v in b[column]]}, batched=True, features=features
    )


def _as_text(ds: Dataset, column: str, source: str, renames: Mapping[str, str]) -> Dataset:
    """A text column of numbers (or all empty) as text; a column of bytes (Parquet's binary) decoded as UTF-8, labels
    too (a review: bytes labels trained as the classes "b'neg'" and "b'pos'"), or one line where it is not UTF-8."""
    feature, binary = ds.features[column], ("binary", "large_binary")
    if not isinstance(feature, Value) or feature.dtype in ("string", "large_string"):
        return ds
    if column == "label" and feature.dtype not in binary:
        return ds  # integer labels stay integers
    try:
        return ds.cast_column(column, Value("string"))
    except (ValueError, TypeError) as e:  # pyarrow's ArrowInvalid: invalid UTF-8
        given = next((c for c, n in renames.items() if n == column), column)  # as the user named it
        raise TextgruError(
            f"{source}: column {given!r} holds bytes that are not UTF-8 text; save it as UTF-8 strings"
        ) from e


def standardize(
    dd: DatasetDict,
    text_column: str,
    label_column: str | None,
    *,
    name: str | Mapping[str, str],
    seed: int,
    val_fraction: float,
    test_fraction: float,
    label_names: Sequence[str] | None = None,
) -> DatasetDict:
    """Rename, clean, label-encode and split so that every source ends in the same shape.

    Missing validation/test splits are carved from train, stratified by label, with `seed`. `name` (or, per split,
    `source_of(name, split)`) starts each error and log line.
    """
    if "train" not in dd:
        raise TextgruError(f"{source_of(name)}: no training data found (splits present: {list(dd) or 'none'}).")
    if label_column and text_column == label_column:
        raise TextgruError(
            f"{source_of(name)}: data.text_column and data.label_column are both {text_column!r}; set them to different columns"
        )
    for split, ds in dd.items():
        missing = [c for c in (text_column, label_column) if c and c not in ds.column_names]
        if missing:  # a file's own split is the file (a review: "in the train split" of a file eval scored whole)
            where = "" if split == "train" else f" in its {split} split"
            raise TextgruError(
                f"{source_of(name, split)}: column {missing[0]!r} not found{where}; its columns are "
                f"{ds.column_names}. Set data.text_column= / data.label_column= to one of them."
                + header_hint(
                    ds.column_names, wanted=(text_column, label_column), table=_is_table(source_of(name, split))
                )
            )
    dd = DatasetDict(dd)
    for split in dd:
        for column in (c for c in (text_column, label_column) if c):
            dd[split] = _scalars_as_strings(dd[split], column, labels=column == label_column)
    for split, ds in dd.items():
        for column in (text_column, label_column):
            if column and not isinstance(ds.features[column], (Value, ClassLabel)):  # a list, a nested object
                what = "text" if column == text_column else "label"
                raise TextgruError(
                    f"{source_of(name, split)}: column {column!r} of the {split} split holds lists or objects, not one {what} per "
                    f"row; give one {what} (a string{'' if what == 'text' else ' or an integer'}) per row"
                )
    out = {}
    for split, ds in dd.items():
        keep = [text_column] + ([label_column] if label_column else [])
        ds = ds.select_columns(keep)
        renames = {text_column: "text", **({label_column: "label"} if label_column else {})}
        ds = ds.rename_columns({c: n for c, n in renames.items() if c != n})  # at once: labels in `text` (a review)
        for column in ("text", "label") if label_column else ("text",):
            ds = _as_text(ds, column, source_of(name, split), renames)
        before, rows = len(ds), f"{source_of(name, split)} ({'training' if split == 'train' else split} rows)"
        ds = ds.filter(lambda b: [isinstance(t, str) and t.strip() != "" for t in b["text"]], batched=True)
        if len(ds) < before:  # as given (a review: "<file>.csv/train", "<folder>/train" of no train/, not paths)
            log.info("%s: dropped %d empty or missing texts", rows, before - len(ds))
        if label_column:
            before = len(ds)
            ds = ds.filter(lambda b: _labelled(b["label"]), batched=True)
            if before and not len(ds):
                raise TextgruError(
                    f"{source_of(name, split)}: no row of the {split} split has a label in column {label_column!r}; "
                    "fill it in, or set data.label_column= to the column that holds the labels"
                )
            if len(ds) < before:
                log.info("%s: dropped %d rows without a label", rows, before - len(ds))
        out[split] = ds
    dd, names_by_split = DatasetDict(out), name
    name = source_of(name)  # from here on: the training file, which carved splits come from
    if len(dd["train"]) == 0:
        raise TextgruError(f"{name}: the training split is empty; check data.path and the file's contents.")
    if label_column:
        dd = _encode_labels(dd, names_by_split, label_names)
    carved = [split for split in ("validation", "test") if split not in dd]
    if carved:
        dd["train"] = drop_repeats(dd["train"], name)
    dd = carve_missing_splits(dd, name, seed, val_fraction, test_fraction, stratify=bool(label_column))
    if len(carved) < 2:
        warn_shared_texts(dd, names_by_split)
    if label_column:
        fractions = {"validation": val_fraction, "test": test_fraction}
        refuse_untrained_labels(dd, name, {s: fractions[s] for s in carved}, listed=label_names is not None)
        warn_missing_labels(dd, name, held_out_sources(names_by_split, [s for s in SPLITS[1:] if s not in carved]))
    for split in SPLITS:
        if len(dd[split]) == 0:
            raise TextgruError(
                f"{source_of(names_by_split, split)}: the {split} split is empty; give more data or larger fractions."
            )
    return dd


def _encode_labels(dd: DatasetDict, name: str | Mapping[str, str], label_names: Sequence[str] | None) -> DatasetDict:
    feature = dd["train"].features["label"]
    if isinstance(feature, ClassLabel) and label_names is None:
        names = list(feature.names)
    else:
        raw = label_keys(column_values(dd["train"], "label"))
        if label_names is not None:
            names = list(label_names)
            folded = [label_key(m).lower() for m in names]  # as the data's labels are matched: case aside
            twice = sorted({n for n in names if folded.count(label_key(n).lower()) > 1}, key=str)
            if twice:  # reviews: ClassLabel's traceback "Some label names are duplicated"; [pos, Pos] went on
                raise TextgruError(f"data.label_names names {twice} more than once (case aside); name each label once")
        else:
            canonical: dict[str, str] = {}  # case-folded label -> its most common spelling
            for k, _ in Counter(raw).most_common():
                canonical.setdefault(k.lower(), k)
            uniq = set(canonical.values())
            if all(u.lstrip("-").isdigit() for u in uniq):
                names = sorted(uniq, key=lambda u: (int(u), u))  # "01" and "1": in one order every run
            else:
                names = sorted(uniq)
    warn_doubtful_label_names(names, source_of(name))
    by_key = {label_key(n): i for i, n in enumerate(names)}
    by_fold = {k.lower(): i for k, i in by_key.items()}

    def index(v: object) -> int:
        k = label_key(v)
        return by_key.get(k, by_fold.get(k.lower(), -1))

    def encoder(own: object) -> Callable[[dict], dict]:
        """A split's labels as indices into `names`: a split that stores its own label names (Parquet written by
        `datasets`) by those names, not by its integers, whose order may differ from the training file's."""

        def encode(batch: dict) -> dict:
            if not isinstance(own, ClassLabel):
                return {"label": [by_key.get(k, by_fold.get(k.lower(), -1)) for k in label_keys(batch["label"])]}
            return {"label": [index(own.names[v]) if 0 <= v < own.num_classes else -1 for v in batch["label"]]}

        return encode

    folded: dict[str, dict] = {}  # each file's " Pos", "POS" -> "pos", found before mapping (a cached map would not
    for split, ds in dd.items():  # run `encode`)
        for v in set(column_values(ds, "label")):
            if isinstance(v, str) and index(v) >= 0 and v != names[index(v)]:
                folded.setdefault(source_of(name, split), {})[v] = names[index(v)]

    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    out = {}
    for split, ds in dd.items():
        encode = encoder(ds.features["label"])
        ds = ds.map(encode, batched=True, features=Features({"text": Value("string"), "label": Value("int64")}))
        unseen = ds.filter(lambda b: [x < 0 for x in b["label"]], batched=True)
        if len(unseen):
            bad = sorted(
                {label_key(v) for v in column_values(dd[split], "label")}
                - set(by_key)
                - {label_key(v) for f in folded.values() for v in f}
            )
            said = f"never occur in training (labels: {names}); fix the file or drop those rows."
            if label_names is not None:  # a review: a label left out of data.label_names "never occurs in training"
                said = f"are not in data.label_names ({names}); add them there, or leave their rows out (data.ignore_labels)"
            raise TextgruError(f"{source_of(name, split)}: label(s) {bad[:5]} in the {split} split {said}")
        out[split] = ds.cast(features)
    for source, written in folded.items():  # the file that holds them (a review: the training file was named)
        log.info("%s: labels normalised by case/whitespace (as written -> label): %s", source, written)
    if len(names) < 2:
        raise TextgruError(
            f"{source_of(name)}: only one label ({names}) in training data; a classifier needs two or more."
        )
    return DatasetDict(out)
