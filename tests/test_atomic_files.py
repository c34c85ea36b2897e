"""Files that mark what a folder holds are written whole or not at all (`textgru.atomic_files`), and an evaluation
stopped midway leaves no report that refuses the next one: found by a review, Ctrl+C during `textgru eval` left
`test_metrics.json` without its plot and the rerun was refused; a kill while metrics.json or config.yaml was written
left a run that said it had finished (or was no run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import textgru
from textgru.atomic_files import write_text_atomic


def test_a_failed_write_leaves_the_file_as_it_was_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "metrics.json"
    write_text_atomic(path, '{"a": 1}')
    assert path.read_text() == '{"a": 1}'

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)  # stopped before the rename: the old file whole
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(path, '{"a": 2}')
    assert path.read_text() == '{"a": 1}' and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_an_evaluation_stopped_while_plotting_leaves_no_report(
    tiny_run: Path, small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import textgru.inference.evaluation as evaluation

    clf = textgru.Classifier.load(tiny_run)
    real = evaluation.plot_confusion_matrix

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluation, "plot_confusion_matrix", stopped)
    with pytest.raises(KeyboardInterrupt):
        clf.evaluate(small_csv, text_column="review", label_column="sentiment", output_dir=tmp_path / "ev")
    assert not (tmp_path / "ev").exists()  # the folder made for the report goes too (a review: an empty eval/ left)
    monkeypatch.setattr(evaluation, "plot_confusion_matrix", real)
    clf.evaluate(small_csv, text_column="review", label_column="sentiment", output_dir=tmp_path / "ev")  # not refused
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == ["all_confusion_matrix.png", "all_metrics.json"]
