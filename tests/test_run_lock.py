"""One command at a time in a run folder (`textgru.run_lock`): found by a review, two resumes of one run at once both
crashed and left it unresumable (a CSV log of mixed columns, best.ckpt set aside by the other), two trainings given one
hydra.run.dir both trained into it, and the same `textgru tune` twice failed each other's running trial."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import run_script

from textgru.errors import TextgruError
from textgru.run_lock import LOCK_NAME, in_use


def test_a_held_folder_is_refused_with_the_holders_process_and_released_after(tmp_path: Path) -> None:
    with in_use(tmp_path, "wait for it to end"):
        assert (tmp_path / LOCK_NAME).read_text() == str(os.getpid())
        with pytest.raises(
            TextgruError, match=rf"is in use by another textgru command \(process {os.getpid()}\); wait"
        ):
            with in_use(tmp_path, "wait for it to end"):
                pass
    assert not (tmp_path / LOCK_NAME).exists()  # the folder as the run left it
    with in_use(tmp_path, "-"):  # free again
        pass
    with pytest.raises(ValueError), in_use(tmp_path, "-"):  # let go when the block fails too
        raise ValueError
    with in_use(tmp_path, "-"):
        pass


def test_a_resume_or_a_training_into_a_folder_in_use_is_one_line_and_changes_nothing(
    tiny_run: Path, tmp_path: Path
) -> None:
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    (run / "metrics.json").unlink()  # a run to go on with
    before = sorted(p.relative_to(run).as_posix() for p in run.rglob("*"))
    busy, study = tmp_path / "busy", tmp_path / "study"
    busy.mkdir()
    study.mkdir()
    early = Path(shutil.copytree(run, tmp_path / "early"))  # a run still training, before its first checkpoint (a
    shutil.rmtree(early / "checkpoints")  # review: "the run stopped before its first checkpoint")
    with in_use(run, "-"), in_use(busy, "-"), in_use(study, "-"), in_use(early, "-"):  # another command holds them
        resumed = run_script("train", f"resume={run}", "trainer.max_epochs=3")
        starting = run_script("train", f"resume={early}")
        fresh = run_script("train", "trainer.fast_dev_run=true", f"hydra.run.dir={busy}")
        search = run_script("tune", "hparams_search=sentiment", "n_trials=1", f"hydra.run.dir={study}")
    for r, folder in ((resumed, run), (fresh, busy), (search, study), (starting, early)):
        assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
        assert f"{folder} is in use by another textgru command (process {os.getpid()})" in r.stderr, r.stderr[-600:]
    assert "running 1 more" not in search.stderr  # a review: it said so, into the study's log, before it was refused
    after = sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.name != "train.log")
    assert after == [p for p in before if p != "train.log"]
    assert sorted(p.name for p in busy.iterdir()) == []  # what Hydra wrote for the refused run is taken away again
