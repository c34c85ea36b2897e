"""One command at a time in a run folder (`textgru.run_lock`): found by a review, two resumes of one run at once both
crashed and left it unresumable (a CSV log of mixed columns, best.ckpt set aside by the other), two trainings given one
hydra.run.dir both trained into it, and the same `textgru tune` twice failed each other's running trial."""

from __future__ import annotations

import inspect
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import run_python, run_script

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


def test_a_lock_file_of_the_users_own_is_refused_and_kept_as_it_was(tmp_path: Path) -> None:
    """A review: a `.lock` of the user's in the run folder was truncated to the command's process id and removed at its
    end, a refused run's too. Only a lock textgru writes (a process id, or nothing: killed before writing it) is taken;
    a stale one of a killed command still is."""
    from textgru.run_lock import claim

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / LOCK_NAME).write_text("my lock notes\n")
    refused = rf"^{re.escape(str(mine / LOCK_NAME))} is not textgru's lock: move it aside"
    with pytest.raises(TextgruError, match=refused), in_use(mine, "-"):
        pass
    with pytest.raises(TextgruError, match=refused):
        claim(mine, "-")
    r = run_script("train", "trainer.fast_dev_run=true", f"hydra.run.dir={mine}")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert f"error: {mine / LOCK_NAME} is not textgru's lock: move it aside" in r.stderr, r.stderr[-600:]
    assert _contents(mine) == {LOCK_NAME: "my lock notes\n"}
    (mine / LOCK_NAME).rename(tmp_path / "notes")  # a link: opened, its target would be truncated
    (mine / LOCK_NAME).symlink_to(tmp_path / "notes")
    with pytest.raises(TextgruError, match=refused), in_use(mine, "-"):
        pass
    assert (tmp_path / "notes").read_text() == "my lock notes\n" and (mine / LOCK_NAME).is_symlink()
    (mine / LOCK_NAME).unlink()
    for stale in ("4242", ""):  # a killed command's, with its process id or before it wrote it
        (mine / LOCK_NAME).write_text(stale)
        with in_use(mine, "-"):
            assert (mine / LOCK_NAME).read_text() == str(os.getpid())
        assert not (mine / LOCK_NAME).exists()


def first_command_started(folder: Path, hydra: str = ".hydra", log: str = "train.log") -> int:
    """What a first command has made of `folder` when it is early in its start-up: Hydra's files (in `hydra`) and its
    `log`, and the folder's lock, held (as by process 4242) until the descriptor returned is closed."""
    import fcntl

    (folder / hydra).mkdir(parents=True, exist_ok=True)
    (folder / hydra / "overrides.yaml").write_text("- optimizer=adam\n")
    (folder / log).write_text("the first run's log\n")
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another open file: refused to this process's own lock too
    os.write(fd, b"4242")
    return fd


def _contents(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", ["train", "tune"])
def test_a_command_refused_as_another_starts_on_its_folder_leaves_the_first_ones_files_alone(
    command: str, small_csv: Path, tmp_path: Path
) -> None:
    """A review: the second of two trainings given one hydra.run.dir, 0.5 s apart, was refused by the lock only once
    Hydra had written its `.hydra/` over the first's (whose resume then said seed=7 where it started with 42); a
    second `textgru tune` left its own `.hydra/<time>/`. The first command starts here between the second's checks
    of the folder and Hydra's start: the folder is claimed before anything is written."""
    folder = tmp_path / "run"
    script = tmp_path / "second.py"
    script.write_text(  # the first command's start, then this command
        "import os, sys\nfrom pathlib import Path\nimport textgru.run_claim\nfrom textgru.cli import main\n"
        f"from textgru.run_lock import LOCK_NAME\n{inspect.getsource(first_command_started)}\n"
        "folder, checked = Path(sys.argv[1]), textgru.run_claim.note_new_run_dir\n"
        "def first_command_starts(*args, **kwargs):\n"
        "    found = checked(*args, **kwargs)\n"
        "    first_command_started(folder, *sys.argv[2:4])\n"
        "    return found\n"
        "textgru.run_claim.note_new_run_dir = first_command_starts\n"
        "main(sys.argv[4:])\n"
    )
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    search = ["hparams_search=sentiment", "n_trials=1"] if command == "tune" else []
    args = [command, *search, *data, "trainer.max_steps=5", "seed=7", f"hydra.run.dir={folder}"]
    hydra, log = (".hydra/2026-12-07_04-43-22", "tune.log") if command == "tune" else (".hydra", "train.log")
    r = run_python([str(script), str(folder), hydra, log, *args])
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert f"error: {folder} is in use by another textgru command (process 4242); wait" in r.stderr, r.stderr[-600:]
    first = {f"{hydra}/overrides.yaml": "- optimizer=adam\n", log: "the first run's log\n", LOCK_NAME: "4242"}
    assert _contents(folder) == first  # nothing of the refused command's: no .hydra/<time>/ of a search either


def test_a_python_call_refused_as_another_starts_on_its_folder_leaves_the_first_ones_files_alone(
    small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`textgru.train(run_dir=)` as the command above: its folder claimed before `save_hydra_files`."""
    import textgru
    from textgru.run_folder import RunFolder

    folder, checked, held = tmp_path / "run", RunFolder.refuse_if_used, []

    def first_command_starts(self: RunFolder, *args, **kwargs) -> None:
        checked(self, *args, **kwargs)
        if not held:
            held.append(first_command_started(folder))

    monkeypatch.setattr(RunFolder, "refuse_if_used", first_command_starts)
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    try:
        with pytest.raises(TextgruError, match=r"is in use by another textgru command \(process 4242\); wait"):
            textgru.train([*data, "trainer.max_steps=5", "seed=7"], run_dir=folder)
    finally:
        os.close(held[0])
    first = {".hydra/overrides.yaml": "- optimizer=adam\n", "train.log": "the first run's log\n", LOCK_NAME: "4242"}
    assert _contents(folder) == first


def test_a_filesystem_without_locks_goes_on_unlocked_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: on NFS without lockd (`flock`: ENOLCK, "No locks available") a training was a 26-line traceback that
    left a half-made run folder, which later runs were refused. It goes on as Lightning and Optuna do, saying so
    once; nothing of the lock is left."""
    import errno

    from textgru import run_lock

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(run_lock.fcntl, "flock", no_locks)
    monkeypatch.setattr(run_lock, "_WARNED", [], raising=False)
    run = tmp_path / "run"
    with caplog.at_level("WARNING", logger="textgru"):
        with in_use(run, "-"):
            (run / "config.yaml").write_text("trained\n")
            run_lock.refuse_if_in_use(run, "-")  # a resume's probe: not refused either
        with in_use(run, "-"):
            pass
    warned = [r.getMessage() for r in caplog.records if "cannot lock" in r.getMessage()]
    assert warned == [
        f"cannot lock {run} (No locks available: a network filesystem?); going on without the lock, so a "
        "second textgru command started on this folder is not refused"
    ], warned
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]
