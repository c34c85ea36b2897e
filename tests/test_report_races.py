"""Two commands on one report, and a run evaluated while it trains (a concurrency review): an eval's report that
appeared while another eval scored was replaced without a word (`overwrite=false`), and the plot and JSON could come
from two evaluations; eval, predict, export and `textgru.load` of a run still training said nothing, and the report
it left refused the finished run's eval without saying the checkpoint had changed since."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import textgru
from textgru.errors import TextgruError
from textgru.inference.classifier import Classifier

COLUMNS = {"text_column": "review", "label_column": "sentiment"}


def test_a_report_that_appears_while_scoring_is_kept_whole(
    tiny_run: Path, small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clf, out = textgru.Classifier.load(tiny_run), tmp_path / "ev"
    real = Classifier.predict_proba

    def other_eval_finishes(self, *args, **kwargs):  # the other command's report, written while this one scores
        out.mkdir(exist_ok=True)
        (out / "all_confusion_matrix.png").write_bytes(b"theirs")
        (out / "all_metrics.json").write_text('{"theirs": 1}')
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Classifier, "predict_proba", other_eval_finishes)
    with pytest.raises(TextgruError, match=r"all_confusion_matrix.png appeared while this command ran .* is kept; run"):
        clf.evaluate(small_csv, **COLUMNS, output_dir=out)
    assert (out / "all_metrics.json").read_text() == '{"theirs": 1}'
    assert (out / "all_confusion_matrix.png").read_bytes() == b"theirs"
    assert sorted(p.name for p in out.iterdir()) == ["all_confusion_matrix.png", "all_metrics.json"]  # no temp file
    monkeypatch.setattr(Classifier, "predict_proba", real)
    clf.evaluate(small_csv, **COLUMNS, output_dir=out, overwrite=True)  # asked: replaced
    assert "accuracy" in json.loads((out / "all_metrics.json").read_text())


def test_a_pair_is_placed_whole_or_not_at_all(tmp_path: Path) -> None:
    """The JSON that appears after this command's plot was placed: kept, and this command's plot taken back."""
    from textgru.atomic_files import written_together

    plot, report = tmp_path / "all_confusion_matrix.png", tmp_path / "all_metrics.json"
    with pytest.raises(TextgruError, match="all_metrics.json appeared while this command ran"):
        with written_together([plot, report], False, "choose another") as (plot_tmp, report_tmp):
            plot_tmp.write_bytes(b"mine")
            report_tmp.write_text("mine")
            report.write_text("theirs")  # the other command, between the check and the rename
    assert [p.name for p in tmp_path.iterdir()] == ["all_metrics.json"] and report.read_text() == "theirs"
    with written_together([plot, report], True, "") as (plot_tmp, report_tmp):  # overwrite: both replaced
        plot_tmp.write_bytes(b"mine")
        report_tmp.write_text("mine")
    assert plot.read_bytes() == b"mine" and report.read_text() == "mine" and len(list(tmp_path.iterdir())) == 2
