"""Two commands on one report, and a run evaluated while it trains (a concurrency review): an eval's report that
appeared while another eval scored was replaced without a word (`overwrite=false`), and the plot and JSON could come
from two evaluations; eval, predict, export and `textgru.load` of a run still training said nothing, and the report
it left refused the finished run's eval without saying the checkpoint had changed since."""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
from pathlib import Path
from unittest import mock

import pytest
import torch
from conftest import run_textgru

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


def _unfinished_copy(tiny_run: Path, to: Path) -> Path:
    shutil.copytree(tiny_run, to)
    (to / "metrics.json").unlink()
    return to


def test_a_run_still_training_or_stopped_is_warned_of(tiny_run: Path, tmp_path: Path, caplog) -> None:
    run = _unfinished_copy(tiny_run, tmp_path / "run")
    fd = os.open(run / ".lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"4242")  # the training's process, as run_lock writes it
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with caplog.at_level(logging.WARNING):
            textgru.load(run)
        assert f"{run} is still training (process 4242): its best checkpoint so far (best.ckpt) is read" in caplog.text
    finally:
        os.close(fd)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        textgru.load(run / "checkpoints" / "best.ckpt")  # stopped (killed): no lock held, no metrics.json
    assert f"{run} has not finished (no metrics.json): its best checkpoint so far (best.ckpt) is read" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # a review: last.ckpt was called the best so far too
        textgru.load(run / "checkpoints" / "last.ckpt")
    assert "its latest checkpoint (last.ckpt) is read" in caplog.text
    caplog.clear()
    kept = shutil.copy(run / "checkpoints" / "last.ckpt", run / "checkpoints" / "last.before-resume-at-step-3.ckpt")
    with caplog.at_level(logging.WARNING):  # a review: the one a resume from an earlier step kept was "latest"
        textgru.load(kept)
    assert "its last checkpoint before a resume (last.before-resume-at-step-3.ckpt) is read" in caplog.text
    caplog.clear()
    (tmp_path / "mine" / "checkpoints").mkdir(parents=True)  # a checkpoint of one's own beside a config.yaml of
    shutil.copy(run / "checkpoints" / "best.ckpt", tmp_path / "mine" / "model.ckpt")  # one's own: not a run folder
    shutil.copy(run / "checkpoints" / "best.ckpt", tmp_path / "mine" / "checkpoints" / "model.ckpt")  # (a review:
    (tmp_path / "mine" / "config.yaml").write_text("lr: 1\n")  # "has not finished")
    with caplog.at_level(logging.WARNING):
        textgru.load(tmp_path / "mine" / "model.ckpt")
        textgru.load(tmp_path / "mine" / "checkpoints" / "model.ckpt")
    assert "finished" not in caplog.text and "training" not in caplog.text
    (tmp_path / "link.ckpt").symlink_to(run / "checkpoints" / "best.ckpt")  # a link to the run's: of that run
    (tmp_path / "linked").symlink_to(run / "checkpoints")  # a link to its checkpoints folder too (a review)
    for linked in (tmp_path / "link.ckpt", tmp_path / "linked"):
        with caplog.at_level(logging.WARNING):
            textgru.load(linked)
        assert (
            f"{run} has not finished (no metrics.json): its best checkpoint so far (best.ckpt) is read" in caplog.text
        )
        caplog.clear()
    if hasattr(fcntl, "flock"):  # no locks on the filesystem (ENOLCK): none held can be told, and loading goes on
        with mock.patch.object(fcntl, "flock", side_effect=OSError(errno.ENOLCK, "No locks available")):
            textgru.load(run)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        textgru.load(tiny_run)  # finished: nothing said
    assert "finished" not in caplog.text and "training" not in caplog.text


def test_the_report_names_the_state_scored_and_a_changed_checkpoint(
    tiny_run: Path, small_csv: Path, tmp_path: Path
) -> None:
    from textgru.checkpoint_state import file_sha256

    run = _unfinished_copy(tiny_run, tmp_path / "run")
    ckpt = run / "checkpoints" / "best.ckpt"
    out = tmp_path / "ev"
    result = textgru.Classifier.load(run).evaluate(small_csv, **COLUMNS, output_dir=out)
    saved = torch.load(ckpt, weights_only=True)
    assert result["checkpoint_sha256"] == file_sha256(ckpt) and result["checkpoint_step"] == saved["global_step"]
    assert json.loads((out / "all_metrics.json").read_text())["checkpoint_sha256"] == file_sha256(ckpt)
    with pytest.raises(TextgruError) as unchanged:
        textgru.Classifier.load(run).evaluate(small_csv, **COLUMNS, output_dir=out)
    assert "changed since" not in str(unchanged.value)
    with pytest.raises(
        TextgruError
    ) as another:  # a review: last.ckpt's eval called best.ckpt's report its earlier state
        textgru.Classifier.load(run / "checkpoints" / "last.ckpt").evaluate(small_csv, **COLUMNS, output_dir=out)
    assert str(another.value).startswith(f"{out / 'all_metrics.json'} exists and scored another checkpoint ({ckpt})")
    moved = shutil.copytree(run, tmp_path / "moved")  # the same file elsewhere (a run moved, copied): nothing to say
    with pytest.raises(TextgruError) as same:
        textgru.Classifier.load(moved).evaluate(small_csv, **COLUMNS, output_dir=out)
    assert (
        str(same.value)
        == f"{out / 'all_metrics.json'} exists; pass overwrite=true (in Python, overwrite=True) or another output_dir"
    )
    torch.save({**saved, "global_step": saved["global_step"] + 5}, ckpt)  # the run trained on, a better one saved
    with pytest.raises(TextgruError) as changed:
        textgru.Classifier.load(run).evaluate(small_csv, **COLUMNS, output_dir=out)
    assert str(changed.value) == (
        f"{out / 'all_metrics.json'} exists and scored an earlier state of {ckpt} (step {saved['global_step']}), "
        "which has changed since; pass overwrite=true (in Python, overwrite=True) or another output_dir"
    )


def test_eval_of_a_run_trained_on_says_why_its_report_is_refused(tiny_run: Path, tmp_path: Path) -> None:
    """The eval the finished run suggests, after an eval while it trained: refused, saying the checkpoint changed."""
    run = _unfinished_copy(tiny_run, tmp_path / "run")
    r = run_textgru("eval", f"ckpt_path={run}")
    assert r.returncode == 0 and "has not finished (no metrics.json)" in r.stderr, r.stderr[-2000:]
    ckpt = run / "checkpoints" / "best.ckpt"
    saved = torch.load(ckpt, weights_only=True)
    torch.save({**saved, "global_step": saved["global_step"] + 5}, ckpt)
    r = run_textgru("eval", f"ckpt_path={run}")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (
        f"error: {run / 'eval' / 'test_metrics.json'} exists and scored an earlier state of {ckpt} "
        f"(step {saved['global_step']}), which has changed since; pass overwrite=true or output_dir=<another folder>"
    ), r.stderr[-2000:]


def test_a_finished_runs_checkpoint_is_hashed_for_a_report_only(
    tiny_run: Path, small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashing at every load cost predict and serve ~60 ms a 34 MB checkpoint: a finished run's is hashed when a
    report is written, where the file is still the one loaded; replaced meanwhile, the report records no digest."""
    from textgru import checkpoint_state

    hashed: list[str] = []
    real = checkpoint_state.file_sha256
    monkeypatch.setattr(checkpoint_state, "file_sha256", lambda p: hashed.append(str(p)) or real(p))
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    clf = textgru.Classifier.load(run)
    clf.predict("a text")
    assert hashed == []
    assert clf.evaluate(small_csv, **COLUMNS)["checkpoint_sha256"] == real(run / "checkpoints" / "best.ckpt")
    assert len(hashed) == 1
    again = textgru.Classifier.load(run)
    ckpt = run / "checkpoints" / "best.ckpt"
    os.replace(ckpt.with_name("last.ckpt"), ckpt)  # a resume wrote a new best while it scored
    assert again.evaluate(small_csv, **COLUMNS)["checkpoint_sha256"] is None
