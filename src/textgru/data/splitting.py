"""Validation and test splits carved from the training rows, stratified by label with a seed: the indices of
`datasets`' `train_test_split(stratify_by_column=...)` exactly, with the label column read whole (`datasets` reads it
row by row: 14.6 s per 100k rows, twice); and what is said of labels that a split lacks once the splits are made."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict, concatenate_datasets
from datasets.utils.stratify import stratified_shuffle_split_generate_indices

from textgru.data.columns import column_values
from textgru.data.data_paths import expand_paths, is_pattern
from textgru.data.repeated_texts import loosely
from textgru.errors import TextgruError

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
CARVING = ("split_seed", "val_fraction", "test_fraction")  # the data settings that decide which rows each split gets
# how `_kept_apart` places a text under several labels, kept in checkpoints (and exports): one saved before it was kept
# carved such texts otherwise, so eval's split of its own data is not surely training's (a review, session 46)
SPLIT_RULE = 2


def carve_missing_splits(
    dd: DatasetDict, name: str, seed: int, val_fraction: float, test_fraction: float, stratify: bool
) -> DatasetDict:
    """`dd` with the validation and test splits it lacks taken from its training rows (`val_fraction` and
    `test_fraction` of all of them), stratified by `label` when `stratify`."""
    out = dict(dd)
    if "test" not in out:
        parts = _split(out["train"], test_fraction, seed, stratify, name, "test", len(dd["train"]))
        parts = _kept_apart(parts, "test", name)
        out["train"], out["test"] = parts["train"], parts["test"]
        if "validation" not in out:  # val_fraction is of the whole, so rescale for what is left
            val_fraction = val_fraction / (1.0 - test_fraction)
    if "validation" not in out:
        parts = _split(out["train"], val_fraction, seed + 1, stratify, name, "validation", len(dd["train"]))
        parts = _kept_apart(parts, "validation", name)
        out["train"], out["validation"] = parts["train"], parts["test"]
    return DatasetDict({s: out[s] for s in SPLITS})


def _split(
    ds: Dataset, fraction: float, seed: int, stratify: bool, name: str, held_out: str, rows: int = 0
) -> DatasetDict:
    """`ds` split in two (`fraction` of it held out as the `held_out` split); `rows`: the training rows before any
    split, for the message."""
    if len(ds) < 3:  # a review: a 3-row file was said to hold 2 examples, those left after its test row
        raise TextgruError(f"{name}: {rows or len(ds)} example(s) are too few to split into train/validation/test.")
    if stratify:
        n_test = math.ceil(fraction * len(ds))  # as train_test_split(test_size=fraction) counts them
        labels = np.asarray(column_values(ds, "label"))
        counts = np.bincount(labels)
        classes = int((counts > 0).sum())
        if counts[counts > 0].min() < 2:
            reason = "a class has a single example"
        elif min(n_test, len(ds) - n_test) < classes:
            part = "held-out" if n_test < len(ds) - n_test else "remaining training"
            reason = f"the {part} part ({min(n_test, len(ds) - n_test)} rows) is smaller than the {classes} classes"
        else:
            rng = np.random.default_rng(seed)
            train, test = next(stratified_shuffle_split_generate_indices(labels, len(ds) - n_test, n_test, rng=rng))
            return DatasetDict({"train": ds.select(train), "test": ds.select(test)})
        log.warning(  # the split named (a review: the test and the validation carves' warnings were one line twice)
            "%s: %s, too few for a stratified split; carving the %s split without stratification", name, reason, held_out
        )  # fmt: skip
    return ds.train_test_split(test_size=fraction, seed=seed)


def _kept_apart(parts: DatasetDict, held_out: str, name: str) -> DatasetDict:
    """`parts` with each text (case and spacing aside) in one of them: a text with several labels keeps a row per
    label, and a review found 5 of 9 test texts also in training, where the README promises that no text is trained
    and tested on. Such a text goes to the side that keeps the held-out part nearer the size its fraction asks for,
    never taking a label's last training rows (the review of moving them all to the held-out part: a test split of
    19% for 10%, and a file refused for a label with no training rows left)."""
    if "text" not in parts["test"].column_names:
        return parts
    train_keys = [loosely(text) for text in column_values(parts["train"], "text")]
    held_keys = [loosely(text) for text in column_values(parts["test"], "text")]
    shared = set(train_keys) & set(held_keys)
    if not shared:
        return parts
    train_rows: dict[str, list[int]] = {}
    for i, key in enumerate(train_keys):
        if key in shared:
            train_rows.setdefault(key, []).append(i)
    held_rows = Counter(held_keys)
    labelled = "label" in parts["train"].column_names
    labels = column_values(parts["train"], "label") if labelled else [0] * len(train_keys)
    left, size, target = Counter(labels), len(held_keys), len(held_keys)
    to_held: list[int] = []  # training rows of texts that go to the held-out part
    to_train: set[str] = set()  # texts whose held-out rows go to training
    for key in dict.fromkeys(k for k in held_keys if k in shared):  # in the held-out part's (seeded) order
        rows, taken = train_rows[key], Counter(labels[i] for i in train_rows[key])
        nearer = abs(size + len(rows) - target) <= abs(size - held_rows[key] - target)
        if all(left[label] > n for label, n in taken.items()) and (nearer or size == held_rows[key]):
            to_held.extend(rows)  # (in place: a new list per text was quadratic in the texts shared)
            size += len(rows)
            left.subtract(taken)
        else:
            to_train.add(key)
            size -= held_rows[key]
    back = [i for i, key in enumerate(held_keys) if key in to_train]
    log.info(
        "%s: %d text(s) with rows under other labels in training and in the %s split: each kept in one (%d training "
        "row(s) moved to %s, %d of its rows to training)", name, len(shared), held_out, len(to_held), held_out, len(back)
    )  # fmt: skip
    moved = set(to_held)
    stay = [i for i, key in enumerate(held_keys) if key not in to_train]
    train = [parts["train"].select([i for i in range(len(train_keys)) if i not in moved]), parts["test"].select(back)]
    held = [parts["test"].select(stay), parts["train"].select(to_held)]
    return DatasetDict({"train": concatenate_datasets(train), "test": concatenate_datasets(held)})


def _shown(names: Sequence[str]) -> str:
    """Label names for a message: ten at most (a review: an id column's ~1,000 in one 8 KB line)."""
    return f"{list(names[:10])}" + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def refuse_untrained_labels(dd: DatasetDict, name: str, carved: Mapping[str, float], listed: bool) -> None:
    """One error for labels with no training row. Those in no training row before carving are named with the list
    that holds them (`listed`: data.label_names, else the data's own label feature), not the fractions, which cannot
    give them rows (a review: data.label_names of 7 labels for rows of 2 was told to lower them); those the carving
    took, with the fractions of `carved` (each carved split's)."""
    all_names = dd["train"].features["label"].names
    unseen = set(range(len(all_names))) - set(column_values(dd["train"], "label"))
    if not unseen:
        return
    never = [all_names[i] for i in sorted(unseen - {y for s in carved for y in column_values(dd[s], "label")})]
    if never:
        where = "data.label_names" if listed else "its label feature (ClassLabel)"
        fix = "leave them out of data.label_names" if listed else "give data.label_names= the labels its rows have"
        raise TextgruError(
            f"{name}: label(s) {_shown(never)} of {where} are in none of its training rows; add rows of them, or {fix}"
        )
    rows = sum(len(dd[s]) for s in ("train", *carved))  # before carving
    fix = "give more examples of them or a separate data.validation_path/test_path"
    if len(all_names) > len(dd["train"]) // 2:  # about a label per row (an id column): an 8 KB line before
        fix = f"{len(all_names)} labels for {len(dd['train'])} training rows: is data.label_column the label?"
        if carved and len(all_names) <= rows // 2:  # not the column: the fractions (a review: 0.5 and 0.49)
            key = {"validation": "data.val_fraction", "test": "data.test_fraction"}
            taken = " and ".join(f"{key[s]}={fraction}" for s, fraction in carved.items())
            them = "them" if len(carved) > 1 else "it"
            fix = f"training keeps {len(dd['train'])} of its {rows} rows after {taken}; lower {them}"
    names = [all_names[i] for i in sorted(unseen)]
    raise TextgruError(f"{name}: label(s) {_shown(names)} have no training examples after splitting; {fix}")


def held_out_sources(names: str | Mapping[str, str], splits: Sequence[str]) -> dict[str, str | Path | None]:
    """`splits` (those not carved) with their sources for `warn_missing_labels`: a file (data.validation_path,
    data.test_path), a sub-folder of data.path's folder (a Path: test/, val/, ...), or None, a Hub dataset's own split
    (`names`: a string)."""
    if isinstance(names, str):
        return dict.fromkeys(splits)
    if all(split in names for split in splits):  # files only (data.path: no folder; a list of globs, joined)
        return {split: names[split] for split in splits}
    from textgru.data.local import VALIDATION_FOLDERS  # (pandas and pyarrow: not for every import of this module)

    root = Path(names["train"])  # as written (~/imdb), or the one folder a glob matched, as it was read (a review:
    if is_pattern(names["train"]):  # 'd/imdb_*' named d/imdb_*/validation/, a folder that is not, for d/imdb_v1/val/)
        root = Path(expand_paths(names["train"], "data.path")[0])
    found = (v for v in VALIDATION_FOLDERS if (root.expanduser() / v).is_dir())
    folders = {"test": "test", "validation": next(found, VALIDATION_FOLDERS[0])}
    return {split: names[split] if split in names else root / folders[split] for split in splits}


def warn_missing_labels(dd: DatasetDict, name: str, given: Mapping[str, str | Path | None] | None = None) -> None:
    """A warning for each held-out split that holds no example of some label: its scores for those labels are 0 or
    undefined, and its macro-F1 (an average over every label) is lowered by them. `name`: the training file, which
    carved splits come from; `given`: each split not carved, with its source (`held_out_sources`; a review: a test
    file's warning named the training file and its fractions, a test/ folder's called it the dataset's own split)."""
    names = dd["train"].features["label"].names
    given = given or {}
    for split in ("validation", "test"):
        missing = sorted(set(range(len(names))) - set(column_values(dd[split], "label")))
        if missing and len(dd[split]):
            lacking = [names[i] for i in missing[:5]]
            shown = ", ".join(lacking) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            source, fix = name, "give it more rows (data.test_fraction / data.val_fraction) or a file of its own"
            if split in given:
                source, fix = given[split] or name, "add rows of those labels to that file"
                if given[split] is None:
                    fix = "it is the dataset's own split (data.splits)"
                elif isinstance(given[split], Path):  # a folder of label folders: theirs, which may not exist yet
                    fix = f"add .txt files to {given[split] / lacking[0]}/ (the label's folder)"
                    if len(missing) > 1:
                        folders = ", ".join(f"{label}/" for label in lacking) + (" ..." if len(missing) > 5 else "")
                        fix = f"add .txt files to each label's folder in {given[split]}/ ({folders})"
            log.warning(
                "%s: the %s split has no example of %d of the %d labels (%s): its scores for them are 0 or undefined "
                "and lower its macro-F1; %s",
                source, split, len(missing), len(names), shown, fix,
            )  # fmt: skip
