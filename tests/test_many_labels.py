"""Many labels (a review trained and evaluated 5,000): one warning when there are few training rows a label, and
logs, reports and tables that stay readable."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from conftest import data_cfg, tok_cfg, write_csv

from textgru.data.labelled import load_classification_data
from textgru.inference.evaluation import TABLE_LABELS, format_report
from textgru.inference.reports import report_json
from textgru.tasks.base import log_model_size


def _labels_csv(path: Path, labels: int, rows_each: int) -> dict:
    rows = [(f"text {i} about topic {i % labels} number {i}", f"topic{i % labels}") for i in range(labels * rows_each)]
    write_csv(path, rows)
    return data_cfg("local", path=str(path), text_column="review", label_column="sentiment")


@pytest.mark.parametrize(("labels", "rows_each", "warned"), [(120, 6, True), (120, 20, False), (8, 4, False)])
def test_few_rows_a_label_are_warned_of_in_training(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, labels: int, rows_each: int, warned: bool
) -> None:
    """100 or more labels with fewer than 10 training rows each on average: one warning when training reads the data
    that asks whether the label column is the label; a data set with enough rows a label, or few labels, none. Eval
    reading the same data says nothing of it (a review: training advice at every eval of a finished model)."""
    from textgru.data.classification_datamodule import ClassificationDataModule

    cfg = _labels_csv(tmp_path / "many.csv", labels, rows_each)
    with caplog.at_level(logging.WARNING):
        load_classification_data(cfg)  # as eval reads it
        assert "training rows" not in caplog.text
        dm = ClassificationDataModule(cfg, tok_cfg("word"), seed=0)
        dm.setup()
    said = [r.getMessage() for r in caplog.records if "training rows" in r.getMessage()]
    assert len(dm.label_names) == labels
    assert len(said) == int(warned), said
    if warned:
        assert f"{labels} labels and {len(dm.raw['train'])} training rows" in said[0]
        assert "is data.label_column the label" in said[0]
    else:  # the rows trained on count: a few-label run of 2 a label (a review: the whole split was counted)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            ClassificationDataModule(cfg, tok_cfg("word"), seed=0, train_size=2 * labels).setup()
        assert ("training rows" in caplog.text) == (labels >= 100), caplog.text
        assert "data.train_size / data.train_fraction" in caplog.text or labels < 100
        assert "is data.label_column the label" not in caplog.text  # chosen: the column is not in doubt


def test_the_model_line_names_twenty_labels_and_counts_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    """A review: 5,000 label names on the model's log line."""
    import torch

    names = [f"label{i}" for i in range(25)]
    with caplog.at_level(logging.INFO):
        log_model_size(torch.nn.Linear(2, 2), 100, names)
        log_model_size(torch.nn.Linear(2, 2), 100, names[:3])
    many, few = (r.getMessage() for r in caplog.records if r.getMessage().startswith("model:"))
    assert "25 labels: " in many and "label19" in many and "label20" not in many and "and 5 more" in many
    assert "labels ['label0', 'label1', 'label2']" in few


def _result(labels: int) -> dict:
    support = [labels - i for i in range(labels)]  # label 0 most frequent
    matrix = [[s if i == j else 0 for j in range(labels)] for i, s in enumerate(support)]
    per_class = {f"l{i}": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": s} for i, s in enumerate(support)}
    return {"accuracy": 1.0, "macro_f1": 1.0, "n": sum(support), "per_class": per_class, "confusion_matrix": matrix}


def test_the_terminal_table_shows_the_most_frequent_labels() -> None:
    """A review: 5,000 table rows scrolled the totals away. Beyond TABLE_LABELS labels, the most frequent ones and a
    line that counts the rest; a small report shows every label."""
    result = _result(TABLE_LABELS + 30)
    table = format_report(result).splitlines()
    names = [line.split()[0] for line in table[1:] if line.startswith("l")]
    assert names == [f"l{i}" for i in range(TABLE_LABELS)]
    assert "(and 30 less frequent labels" in table[-3] and table[-1].startswith("accuracy")
    assert len(format_report(_result(4)).splitlines()) == 1 + 4 + 2


def test_the_report_json_gives_a_confusion_matrix_row_a_line() -> None:
    """A review: a number a line made a 5,000-label report 225 MB. Rows are one line each, and the JSON reads back
    the same."""
    result = _result(30)
    text = report_json(result)
    assert json.loads(text) == result
    lines = text.splitlines()
    assert sum(line.strip().startswith("[") and line.strip().rstrip(",").endswith("]") for line in lines) == 30
    assert len(lines) < 30 + 6 * 30 + 10  # the rows, per_class's entries, the rest
