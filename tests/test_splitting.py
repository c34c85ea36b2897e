"""Validation and test carved from training rows (`textgru.data.splitting`): `datasets`' stratified split exactly,
without reading the label column row by row; the fallback says why it could not stratify."""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, Features, Value

from textgru.data.columns import column_values
from textgru.data.splitting import _split


def labelled(counts: list[int], seed: int = 0, mapped: bool = True) -> Dataset:
    """Rows `t<i>` with labels drawn to `counts` per class, shuffled, behind an indices mapping (as after dropping
    repeated rows)."""
    labels = [c for c, n in enumerate(counts) for _ in range(n)]
    random.Random(seed).shuffle(labels)
    features = Features({"text": Value("string"), "label": ClassLabel(num_classes=len(counts))})
    ds = Dataset.from_dict({"text": [f"t{i}" for i in range(len(labels))], "label": labels}, features=features)
    return ds.select([i for i in range(len(ds)) if i % 7 != 3]) if mapped else ds  # an indices mapping


@pytest.mark.parametrize("counts", [[300, 120, 40], [50, 50, 50, 9, 5]])
@pytest.mark.parametrize("fraction", [0.1, 0.15, 1 / 3])
@pytest.mark.parametrize("seed", [0, 43])
def test_stratified_split_is_datasets_own(counts: list[int], fraction: float, seed: int) -> None:
    """The same rows in the same order as `train_test_split(stratify_by_column="label")`: a run's splits (and the
    main job's test score) do not move with the faster reading."""
    ds = labelled(counts, seed)
    ours = _split(ds, fraction, seed, True, "data.csv", "test")
    theirs = ds.train_test_split(test_size=fraction, seed=seed, stratify_by_column="label")
    for part in ("train", "test"):
        assert column_values(ours[part], "text") == column_values(theirs[part], "text")


@pytest.mark.parametrize(
    ("counts", "fraction", "reason"),
    [
        ([40, 1, 40], 0.2, "a class has a single example"),
        ([3] * 10, 0.1, r"the held-out part \(3 rows\) is smaller than the 10 classes"),
        ([3] * 10, 0.9, r"the remaining training part \(3 rows\) is smaller than the 10 classes"),
    ],
)
def test_a_split_that_cannot_be_stratified_says_why(counts, fraction, reason, caplog) -> None:
    """A review: a test split smaller than the number of classes was said to be 'a class too small'."""
    ds = labelled(counts, mapped=False)
    with caplog.at_level(logging.WARNING):
        parts = _split(ds, fraction, 0, True, "data.csv", "test")
    assert len(parts["train"]) + len(parts["test"]) == len(ds)
    assert caplog.records and caplog.records[-1].getMessage().startswith("data.csv: ")
    assert re.search(reason, caplog.text), caplog.text


def test_each_carve_that_cannot_be_stratified_names_its_split(caplog) -> None:
    """A review: "a class has a single example, too few for a stratified split; splitting without stratification"
    was said twice, for the test carve and the validation one, naming neither."""
    from datasets import DatasetDict

    from textgru.data.splitting import carve_missing_splits

    with caplog.at_level(logging.WARNING):
        carve_missing_splits(DatasetDict({"train": labelled([40, 1, 40, 1])}), "data.csv", 0, 0.1, 0.1, True)
    assert [r.getMessage() for r in caplog.records] == [
        f"data.csv: a class has a single example, too few for a stratified split; carving the {split} split "
        "without stratification"
        for split in ("test", "validation")
    ], caplog.text


def test_column_values_are_the_rows_values() -> None:
    """Whole columns read at once, in row order, as Python objects, whatever the dataset's format."""
    ds = labelled([5, 6]).with_format("numpy")
    assert column_values(ds, "label") == [int(x) for x in ds.with_format(None)["label"]]
    assert column_values(ds, "text") == [row["text"] for row in ds.with_format(None)]


def test_a_held_out_split_without_some_label_is_warned_about(caplog) -> None:
    """A review: a test split without a minority label scored it 0 in macro-F1, and nothing said so."""
    from datasets import DatasetDict

    from textgru.data.splitting import warn_missing_labels

    def part(labels: list[int]) -> Dataset:
        features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos", "rare"])})
        return Dataset.from_dict({"text": [f"t{i}" for i in labels], "label": labels}, features=features)

    dd = DatasetDict({"train": part([0, 1, 2, 0]), "validation": part([0, 1, 2]), "test": part([0, 1, 1])})
    with caplog.at_level(logging.WARNING):
        warn_missing_labels(dd, "data.csv")
    assert [r.getMessage() for r in caplog.records] == [
        "data.csv: the test split has no example of 1 of the 3 labels (rare): its scores for them are 0 or undefined "
        "and lower its macro-F1; give it more rows (data.test_fraction / data.val_fraction) or a file of its own"
    ]


def test_a_given_split_without_some_label_is_warned_of_by_its_own_source(caplog) -> None:
    """A review: a validation or test file of the user's was warned of under the training file's name, with advice on
    the fractions, which do not carve it; a Hub dataset's own split is said to be its own."""
    from datasets import DatasetDict

    from textgru.data.splitting import warn_missing_labels

    features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
    part = Dataset.from_dict({"text": ["a", "b"], "label": [1, 1]}, features=features)
    dd = DatasetDict({"train": part, "validation": part, "test": part})
    with caplog.at_level(logging.WARNING):
        warn_missing_labels(dd, "tr.csv", {"validation": "va.csv", "test": None})
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and not any("fraction" in line for line in said), said
    assert said[0].startswith("va.csv: the validation split has no example of 1 of the 2 labels (neg)"), said
    assert said[0].endswith("macro-F1; add rows of those labels to that file"), said
    assert said[1].startswith("tr.csv: the test split") and said[1].endswith(
        "; it is the dataset's own split (data.splits)"
    )
    caplog.clear()  # a sub-folder of label folders (a review: called the dataset's own split): the folders to fill
    names = [f"l{i}" for i in range(8)]
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    part = Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]}, features=features)
    dd = DatasetDict({"train": part, "validation": part, "test": part})
    with caplog.at_level(logging.WARNING):
        warn_missing_labels(dd, "imdb", {"validation": Path("imdb/val"), "test": Path("imdb/test")})
    said = [r.getMessage() for r in caplog.records]
    assert said[0].startswith("imdb/val: the validation split has no example of 6 of the 8 labels"), said
    assert said[0].endswith("add .txt files to each label's folder in imdb/val/ (l2/, l3/, l4/, l5/, l6/ ...)"), said


def test_too_few_rows_to_split_is_not_said_of_the_rows_left() -> None:
    """A review: a 3-row file was said to hold "2 example(s)", the rows left after its test row was carved."""
    from datasets import DatasetDict

    from textgru.data.splitting import carve_missing_splits
    from textgru.errors import TextgruError

    for counts in ([2, 1], [1, 1]):  # a 3-row file: 1 test row carved, 2 left; a 2-row file
        dd = DatasetDict({"train": labelled(counts, mapped=False)})
        with pytest.raises(TextgruError, match=rf"^f7.csv: {sum(counts)} example\(s\) are too few to split into"):
            carve_missing_splits(dd, "f7.csv", 0, 0.1, 0.1, True)
