"""The machine failing under a command: a file-size limit (`ulimit -f`, which fails writes as a full disk does) is one
line naming it and what to do, and what was being written is not left half-written. Found by a review: every such
failure was a traceback (a checkpoint's "[enforce fail at inline_container.cc] unexpected pos"), `textgru eval
overwrite=true` cut the earlier report's plot in half while its JSON still said the report was whole, and a run's
tokenizer.json was left truncated beside a finished-looking config.yaml."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, TINY_MODEL

from textgru.resource_errors import resource_problem
from textgru.standard_output import StdoutFailed, pipe_closed_quietly


def limited(argv: list[str], max_bytes: int, cwd: Path) -> subprocess.CompletedProcess:
    """`python argv...` with files it writes limited to `max_bytes` each (Python ignores SIGXFSZ: writes fail EFBIG)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, capture_output=True, text=True, preexec_fn=limit, timeout=300
    )


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_eval_over_an_earlier_report_keeps_it_whole_when_a_write_fails(tiny_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    eval_script = [str(ROOT / "scripts" / "eval.py"), f"ckpt_path={run}", "split=test"]
    first = limited(eval_script, 10**8, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    before = digests(run / "eval")
    plot = (run / "eval" / "test_confusion_matrix.png").stat().st_size
    again = limited([*eval_script, "overwrite=true"], plot // 2, tmp_path)  # the plot cannot be written whole
    assert again.returncode == 2, again.stderr[-3000:]
    assert again.stderr.strip().splitlines()[-1].startswith(
        "error: a file grew past the file-size limit (ulimit -f) ("
    ) and again.stderr.strip().endswith("; free space (or raise the limit) and run again")
    assert "Traceback" not in again.stderr
    assert digests(run / "eval") == before  # the earlier report whole, no temporary file beside it


def test_training_that_cannot_write_its_checkpoint_says_so_in_one_line(
    small_csv: Path, tiny_run: Path, tmp_path: Path
) -> None:
    """(`tiny_run` trained on the same data: `datasets`' cache of it is there, so the checkpoint is what fails.)"""
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    train = [str(ROOT / "scripts" / "train.py"), *data, *TINY_MODEL, "trainer.max_epochs=1"]
    r = limited([*train, f"hydra.run.dir={tmp_path / 'run'}"], 20_000, tmp_path)  # config, tokenizer fit; not a ckpt
    assert r.returncode == 2, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in r.stderr
    ckpt = tmp_path / "run" / "checkpoints"  # the file is named (a review: "a checkpoint could not be written whole")
    assert re.fullmatch(rf"error: a file grew past the file-size limit \(ulimit -f\) \({ckpt}/\w+\.ckpt\); .*", last), (
        last
    )
    assert not list((tmp_path / "run").rglob(".*.tmp*")) and not list((tmp_path / "run").rglob("*.tmp"))


def test_a_resume_that_cannot_write_its_checkpoint_says_how_to_continue(tiny_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    ckpt = (run / "checkpoints" / "last.ckpt").stat().st_size
    resume = [str(ROOT / "scripts" / "train.py"), f"resume={run}", "trainer.max_epochs=5"]  # two epochs more
    r = limited(resume, ckpt // 2, tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.endswith(f"; then continue it: textgru train resume={run}"), last
    assert (run / "checkpoints" / "last.ckpt").stat().st_size == ckpt  # the earlier checkpoint whole


@pytest.mark.parametrize("where", ["lock", "hydra"])
def test_a_run_that_cannot_write_as_it_starts_says_so_in_one_line_and_leaves_no_folder(
    small_csv: Path, tmp_path: Path, where: str
) -> None:
    """A review: on a full disk, the run's lock file (hydra.run.dir=) and Hydra's `.hydra/config.yaml` (the default
    folder) were each a traceback, exit 1, naming no file and leaving the half-made run folder (an empty .lock; an
    empty config.yaml and train.log). `ulimit -f 0` fails their first write as a full disk does."""
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    folder = f"hydra.run.dir={tmp_path / 'run'}" if where == "lock" else f"paths.output_dir={tmp_path / 'run'}"
    r = limited([str(ROOT / "scripts" / "train.py"), *data, *TINY_MODEL, folder], 0, tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
    file = re.escape(str(tmp_path / "run")) + (
        r"/\.lock" if where == "lock" else r"/sentiment/[\d-]+/[\d-]+/\.hydra/config\.yaml"
    )
    last = r.stderr.strip().splitlines()[-1]
    assert re.fullmatch(rf"error: a file grew past the file-size limit \(ulimit -f\) \({file}\); free space .*", last)
    assert not (tmp_path / "run").exists()  # "run again" then starts afresh


def test_a_run_inputs_write_that_fails_names_the_file_and_leaves_no_config(tmp_path: Path) -> None:
    """A review: the tokenizers library's save on a full disk ("No space left on device (os error 28)") was 'no space
    left on the device' naming no file, and the run's config.yaml stayed: "run again" was refused ("already holds
    config.yaml") though the run never started training."""
    from textgru.run_folder import RunFolder
    from textgru.training import write_run_inputs

    class FullDisk:
        def save(self, path: str) -> None:
            Path(path).write_text('{"half')
            raise Exception("No space left on device (os error 28)")

    run = RunFolder(tmp_path / "run")
    with pytest.raises(Exception) as failed:
        write_run_inputs(run, "seed: 42\n", FullDisk())
    assert resource_problem(failed.value) == (
        f"no space left on the device ({run.tokenizer}); free space (or raise the limit) and run again"
    )
    assert list(run.path.iterdir()) == []  # nothing of the run's: the command takes its folder away


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/x/last.ckpt"),
            "no space left on the device (/x/last.ckpt)",
        ),
        (OSError(errno.EROFS, "Read-only file system", "/x"), "the file system is read-only (/x); choose a folder"),
        (Exception("File too large (os error 27)"), "a file grew past the file-size limit (ulimit -f); free space"),
        (RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 123 vs 120"), "a checkpoint could"),
        (MemoryError(), "out of memory; free memory"),
        (RuntimeError("[enforce fail at alloc_cpu.cpp:116] . DefaultCPUAllocator: can't allocate memory"), "out of"),
        (ValueError("a bug"), None),
        (OSError(errno.ENOENT, "No such file", "/x"), None),  # not the machine's resources: left to its own handling
        # a review of the first version: a file that cannot be *read* was told "choose a folder you can write to",
        # and standard output on a full disk lost its own line (standard_output.pipe_closed_quietly's, exit code 1)
        (PermissionError(errno.EACCES, "Permission denied", "/x/secret.csv"), None),
        (StdoutFailed(errno.ENOSPC, "No space left on device"), None),
    ],
)
def test_resource_problems_are_named(error: BaseException, expected: str | None) -> None:
    got = resource_problem(error)
    assert got == expected if expected is None else got is not None and got.startswith(expected), got
    wrapped = RuntimeError("while saving")  # raised from it, as Lightning and torch wrap errors
    wrapped.__cause__ = error
    assert resource_problem(wrapped) == got


def test_an_error_raised_while_handling_one_keeps_its_traceback() -> None:
    """A bug met while handling a full disk (`__context__`, not `raise ... from`) is a bug: not named a full disk."""
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            {}["missing"]
    except KeyError as bug:
        assert bug.__context__ is not None and resource_problem(bug) is None


LOGGING_SCRIPT = """
import logging, sys
from textgru.errors import TextgruError
from textgru.resource_errors import resource_failures_named
logging.basicConfig(filename="tune.log", level=logging.INFO)
log = logging.getLogger("textgru.tuning")
try:
    with resource_failures_named(lambda: "; then go on"):  # the command's block
        with resource_failures_named():  # a trial's own (train() in a search), ended before the log fills up
            log.info("trial 0 starts")
        for i in range(200):
            log.info("trial %d: a line of the study's log that fills it up", i)
except TextgruError as e:
    print("error:", e, file=sys.stderr)
    sys.exit(2)
"""


def test_a_log_file_that_cannot_be_written_stops_the_command_in_one_line(tmp_path: Path) -> None:
    """A review: a search whose tune.log reached `ulimit -f` printed 204 '--- Logging error ---' tracebacks (13,593
    lines), lost the rest of its log and exited 0. Now the command stops at that line, naming the file (also after a
    trial's own block has ended: a review of the fix found it undid the command's)."""
    (tmp_path / "script.py").write_text(LOGGING_SCRIPT)
    r = limited([str(tmp_path / "script.py")], 2000, tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Logging error" not in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.strip().splitlines() == [
        f"error: a file grew past the file-size limit (ulimit -f) ({tmp_path / 'tune.log'}); free space (or raise the "
        "limit) and run again; then go on"
    ]


def test_a_users_own_log_handler_error_hook_is_put_back(tmp_path: Path) -> None:
    """A review: the block took away the handleError a user had set on their own log file's handler (and called
    logging's default instead of it while the block ran)."""
    import logging

    from textgru.resource_errors import resource_failures_named

    handler = logging.FileHandler(tmp_path / "mine.log")
    seen = []
    mine = seen.append
    handler.handleError = mine
    logger = logging.getLogger("textgru")  # the Python API's train.log sits there; not on to pytest's root handlers
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        with resource_failures_named(), resource_failures_named():
            logger.warning("%d apples", "no number")  # a formatting error: the user's hook's to handle
        assert len(seen) == 1 and seen[0].msg == "%d apples"
        assert vars(handler)["handleError"] is mine
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        handler.close()


def test_a_reader_gone_while_logging_to_stdout_exits_141_without_logging_errors(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A review: `textgru train -m ... | head -1` exited 0 after 112 "--- Logging error ---" blocks: Hydra's log lines
    go to stdout through `logging`, which swallowed each BrokenPipeError (printing it) instead of ending the command."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone
    stream = os.fdopen(write, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(logging, "raiseExceptions", True)
    log = logging.getLogger("textgru.test.stdout")
    with pytest.raises(SystemExit) as ended, pipe_closed_quietly():
        handler = logging.StreamHandler(sys.stdout)  # as Hydra's, made once stdout is guarded
        log.addHandler(handler)
        try:
            for i in range(5):
                log.warning("line %d", i)
        finally:
            log.removeHandler(handler)
    assert ended.value.code == 141 and "Logging error" not in capfd.readouterr().err
