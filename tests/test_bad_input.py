"""Bad input: one clear line on stderr, a non-zero exit, no traceback, nothing half-written."""

from __future__ import annotations

import argparse
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import TINY_MODEL, data_cfg, make_rows, run_script, run_scripts, timed_together, write_csv

import textgru
from textgru.data.labelled import load_classification_data
from textgru.errors import TextgruError


def _one_line_error(r, *needles: str) -> None:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.stderr[-2000:]
    for n in needles:
        assert n in errors[0], errors[0]


def _train(tmp_path: Path, *args: str):
    return run_script("train", f"hydra.run.dir={tmp_path / 'run'}", "trainer.max_epochs=1", *args)


def test_missing_data_path(tmp_path: Path) -> None:
    r = _train(tmp_path, "data=local", f"data.path={tmp_path / 'nope.csv'}")
    _one_line_error(r, "nope.csv", "does not exist")
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize(
    "split,option", [pytest.param("test", "test_path", marks=pytest.mark.slow), ("validation", "validation_path")]
)
def test_label_unseen_in_training(tmp_path: Path, split: str, option: str) -> None:
    rows = make_rows(60)
    train = write_csv(tmp_path / "train.csv", rows, text_col="text", label_col="label")
    other = write_csv(
        tmp_path / f"{split}.csv", rows[:5] + [("strange text", "sarcastic")], text_col="text", label_col="label"
    )
    r = _train(tmp_path, "data=local", f"data.path={train}", f"data.{option}={other}")
    _one_line_error(r, "sarcastic", split)


def test_unknown_config_option_lists_valid_ones(tmp_path: Path) -> None:
    profiled = {"PYTHONPROFILEIMPORTTIME": "1"}  # a fresh Python lists every module it imports, on stderr
    r = run_script("train", f"hydra.run.dir={tmp_path / 'run'}", "data=twitter", fresh=True, env=profiled)
    _one_line_error(r, "twitter", "tweets", "local")
    # caught before anything heavy is imported (what it imports, not how long it took: CI's 2 cores are shared)
    lines = [line for line in r.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.rsplit("|", 1)[-1].strip().partition(".")[0] for line in lines}
    heavy = imported & {"torch", "lightning", "datasets", "pandas"}
    assert "hydra" in imported and not heavy, heavy or r.stderr[-2000:]  # ("hydra": the listing works)


UNREACHABLE_HUB = {"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "HF_ENDPOINT": "https://127.0.0.1:9"}


def test_hub_dataset_offline_or_unreachable_is_one_line(tmp_path: Path) -> None:
    """Offline with no cached copy, and with the offline flags unset and the Hub endpoint unreachable: one line each
    from the command, naming the dataset and the way out."""
    offline, unreachable = timed_together(
        [
            lambda: _train(tmp_path / "offline", "data=imdb"),
            lambda: run_script("train", f"hydra.run.dir={tmp_path / 'hub'}", "data=sst2", env=UNREACHABLE_HUB),
        ]
    )
    _one_line_error(offline[0], "imdb", "data=local", "HF_DATASETS_OFFLINE=1 is set")
    _one_line_error(unreachable[0], "stanfordnlp/sst2", "cannot be reached", "HF_DATASETS_OFFLINE=1")


def test_hub_errors_come_at_once_and_local_data_errors_name_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Hub's errors at once (the 3 s connection timeout, not datasets' retries, which wait between tries: no wait
    is asked for; was a timed assertion, < 5 s, which a busy machine broke); an empty file and a missing text column
    named."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)  # huggingface_hub's and datasets' retries back off with it
    for env in ({}, UNREACHABLE_HUB):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        with pytest.raises(TextgruError, match="cannot be downloaded"):
            load_classification_data(data_cfg("sst2"))
        assert waits == [], waits
    empty = write_csv(tmp_path / "e.csv", [("   ", "pos")], text_col="text", label_col="label")
    with pytest.raises(TextgruError, match="empty"):
        load_classification_data({**data_cfg("local"), "path": str(empty)})
    body = write_csv(tmp_path / "d.csv", make_rows(60), text_col="body", label_col="y")
    with pytest.raises(TextgruError, match="'text'.*body.*data.text_column|data.text_column.*'text'.*body"):
        load_classification_data({**data_cfg("local"), "path": str(body), "text_column": "text", "label_column": "y"})


@pytest.fixture()
def ckpt(tiny_run: Path) -> Path:
    return tiny_run / "checkpoints" / "best.ckpt"


def test_checkpoint_missing(tmp_path: Path) -> None:
    r = run_script("predict", f"ckpt_path={tmp_path / 'none.ckpt'}", "text=hi")
    _one_line_error(r, "does not exist")


def test_checkpoint_corrupt(tmp_path: Path, ckpt: Path) -> None:
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(ckpt.read_bytes()[:1000])
    r = run_script("predict", f"ckpt_path={bad}", "text=hi")
    _one_line_error(r, "corrupt")


def test_checkpoint_needing_pickle_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "pickled.ckpt"

    torch.save({"textgru": {"task": "sentiment"}, "obj": argparse.Namespace(a=1)}, bad)  # not a plain type
    r = run_script("predict", f"ckpt_path={bad}", "text=hi")
    _one_line_error(r, "pickle")
    assert "Unsupported global: GLOBAL argparse.Namespace" in r.stderr and "\x1b" not in r.stderr  # what, no colours

    class Runs:  # a plain pickle (protocol 4) whose loading would run a command: torch warned in 2 lines first, and
        def __reduce__(self) -> tuple:  # the line quoted torch's advice cut mid-sentence (a review)
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    bad.write_bytes(pickle.dumps({"state_dict": Runs()}, protocol=4))
    r = run_script("predict", f"ckpt_path={bad}", "text=hi")
    _one_line_error(r, "refuses for safety (torch: Unsupported operand")
    assert r.stderr.strip().count("\n") == 0 and not (tmp_path / "ran").exists()


def test_checkpoint_of_other_task(tmp_path: Path, ckpt: Path) -> None:
    data = torch.load(ckpt, weights_only=True)
    data["textgru"]["task"] = "lm"
    other = tmp_path / "lm.ckpt"
    torch.save(data, other)
    r = run_script("predict", f"ckpt_path={other}", "text=hi")
    _one_line_error(r, "is a language-model (task=lm) checkpoint", "needs a classifier (task=sentiment) one")
    data["textgru"]["task"] = "forecast"
    torch.save(data, other)
    (tmp_path / "prices.csv").write_text("date,close\n2020-01-01,1.5\n")  # a forecaster's input: no text column
    r = run_script("predict", f"ckpt_path={other}", f"input={tmp_path / 'prices.csv'}")
    _one_line_error(r, "is a forecaster (task=forecast) checkpoint")  # it said: column 'text' not in prices.csv


def test_empty_text(ckpt: Path) -> None:
    r = run_script("predict", f"ckpt_path={ckpt}", "text=")
    _one_line_error(r, "text= is empty")


def test_predict_refuses_to_overwrite_output(tmp_path: Path, ckpt: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("mine\n")
    r = run_script("predict", f"ckpt_path={ckpt}", "text=good", f"output={out}")
    _one_line_error(r, "overwrite=true")
    assert out.read_text() == "mine\n"


def test_train_refuses_a_finished_run_folder(tiny_run: Path) -> None:
    files = ("metrics.json", ".hydra/config.yaml", ".hydra/overrides.yaml", "train.log")
    before = {f: (tiny_run / f).read_bytes() for f in files}
    r = run_script("train", f"hydra.run.dir={tiny_run}", "trainer.fast_dev_run=true")
    _one_line_error(r, "already holds a run")
    assert {f: (tiny_run / f).read_bytes() for f in files} == before


def test_a_run_config_made_an_experiment_does_not_overwrite_that_runs_checkpoints(
    tiny_run: Path, tmp_path: Path
) -> None:
    """A review: a run's config.yaml (every path resolved) made an experiment, run again with another seed, wrote its
    best.ckpt and last.ckpt into the first run's checkpoints/ (its metrics.json then described other weights)."""
    import yaml

    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    del config["paths"]["run_dir"]  # else the run folder itself is the first run's: refused as "already holds a run"
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "again.yaml").write_text("# @package _global_\n" + yaml.safe_dump(config))
    before = {p.name: p.read_bytes() for p in (tiny_run / "checkpoints").glob("*.ckpt")}
    r = run_script(
        "train", "--config-dir", str(tmp_path), "experiment=again", "seed=7", f"hydra.run.dir={tmp_path / 'new'}"
    )
    _one_line_error(r, f"callbacks.model_checkpoint.dirpath={tiny_run / 'checkpoints'} already holds checkpoints (")
    assert "delete dirpath where your config sets it" in r.stderr
    assert {p.name: p.read_bytes() for p in (tiny_run / "checkpoints").glob("*.ckpt")} == before
    assert not (tmp_path / "new" / "checkpoints").exists()


def test_train_refuses_a_folder_whose_config_yaml_it_would_overwrite(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my: own config\n")  # not a run: no checkpoint, no metrics
    r = run_script("train", f"hydra.run.dir={mine}", "trainer.fast_dev_run=true")
    _one_line_error(r, "already holds config.yaml, which this run would overwrite", "choose another hydra.run.dir=")
    assert (mine / "config.yaml").read_text() == "my: own config\n"
    for spelling in (f"++hydra.run.dir={mine}", f"hydra.run.dir='{mine}'"):  # as Hydra reads them: the same folder
        _one_line_error(run_script("train", spelling, "trainer.fast_dev_run=true"), "would overwrite")
    from textgru.run_folder import check_explicit_run_dir

    check_explicit_run_dir(
        ["--cfg", "job", f"hydra.run.dir={mine}"], training=True
    )  # printing the config writes nothing
    with pytest.raises(TextgruError, match=r"already holds config.yaml, which this run would overwrite; pass another"):
        textgru.train(["trainer.fast_dev_run=true"], run_dir=mine)
    assert (mine / "config.yaml").read_text() == "my: own config\n" and sorted(os.listdir(mine)) == ["config.yaml"]
    # found by a review: the run's plots and Hydra's files replaced the user's files of those names
    for name in ("confusion_matrix.png", "learning_curves.png", ".hydra/overrides.yaml", "logs/metrics.csv"):
        other = tmp_path / name.replace("/", "_")
        (other / name).parent.mkdir(parents=True)
        (other / name).write_text("mine")
        with pytest.raises(TextgruError, match=f"already holds {re.escape(name)}, which this run would overwrite"):
            textgru.train(["trainer.fast_dev_run=true"], run_dir=other)
        assert (other / name).read_text() == "mine"
    _one_line_error(
        run_script("train", f"hydra.run.dir={other}", "trainer.fast_dev_run=true"), "already holds logs/metrics.csv"
    )


def test_train_refuses_a_study_or_sweep_folder_but_takes_a_sweep_jobs(tmp_path: Path) -> None:
    """A review: `textgru train hydra.run.dir=<study folder>` trained there and replaced its mlflow_run.json (the
    study's MLflow run) with its own, after which the study could not go on; a sweep's folder the same. A sweep's
    job folders are runs' folders: its `resume=` and `hydra.run.dir=` lines for a job still work."""
    from textgru.run_folder import check_explicit_run_dir

    study, sweep = tmp_path / "study", tmp_path / "sweep"
    for folder, name in ((study, "study.db"), (sweep, "multirun.yaml"), (tmp_path / "ended", "summary.csv")):
        (folder / "0").mkdir(parents=True)
        (folder / name).write_text("the search's")
        (folder / "mlflow_run.json").write_text('{"run_id": "the parent"}')
    kinds = {"study.db": "a study's folder", "multirun.yaml": "a sweep's folder", "summary.csv": "a sweep's folder"}
    r = run_script("train", f"hydra.run.dir={study}", "trainer.fast_dev_run=true")
    _one_line_error(r, f"{study} is a study's folder (it holds study.db)", "choose another hydra.run.dir=")
    for folder, name in ((study, "study.db"), (sweep, "multirun.yaml"), (tmp_path / "ended", "summary.csv")):
        with pytest.raises(TextgruError, match=f"is {kinds[name]} \\(it holds {name}\\), not a run's"):
            check_explicit_run_dir([f"hydra.run.dir={folder}"], training=True)
        with pytest.raises(TextgruError, match=f"is {kinds[name]} .*; pass another run_dir="):
            textgru.train(["trainer.fast_dev_run=true"], run_dir=folder)
        assert sorted(p.name for p in folder.iterdir()) == sorted(["0", name, "mlflow_run.json"])
        assert (folder / "mlflow_run.json").read_text() == '{"run_id": "the parent"}'
    for job in ("0", "2"):  # a job's folder, started or not
        check_explicit_run_dir([f"hydra.run.dir={sweep / job}"], training=True)
    search = ["hparams_search=sentiment", f"hydra.run.dir={study}", "hydra.job.name=tune"]  # as `textgru tune` has it
    check_explicit_run_dir(search, training=True, command="train")  # a study goes on in its folder
    # (a review of this: `textgru tune` of a search an experiment config gives, no hparams_search= typed, was refused)
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "mine.yaml").write_text(
        "# @package _global_\nhparams_search:\n  study_name: mine\n  n_trials: 1\n  direction: null\n"
        "  sampler: {_target_: optuna.samplers.RandomSampler}\n  pruner: null\n  params:\n    model.hidden_size: choice(4, 8)\n"
    )
    r = run_script("tune", "--config-dir", str(tmp_path / "conf"), "experiment=mine", f"hydra.run.dir={study}")
    assert r.returncode == 2 and "study.db cannot be read as an Optuna study" in r.stderr, r.stderr[-2000:]  # mock


def test_a_command_refused_in_the_users_folder_takes_away_what_hydra_added(tmp_path: Path, small_csv: Path) -> None:
    """A train refused while reading its data, and a tune refused for a folder that is not its study's, left
    Hydra's `.hydra/` and their log in the user's folder (nothing overwritten, but files added); now only the
    user's own files are there afterwards."""
    train_dir, study_dir = tmp_path / "mine", tmp_path / "my_sweep"
    for folder in (train_dir, study_dir):
        folder.mkdir()
        (folder / "summary.md").write_text("my results")
    data = ["data=local", f"data.path={small_csv}"]
    bad_train, bad_tune = run_scripts(
        ("train", *data, "data.text_column=nope", f"hydra.run.dir={train_dir}", *TINY_MODEL),
        ("tune", "hparams_search=sentiment", *data, f"hydra.run.dir={study_dir}"),
    )
    _one_line_error(bad_train, "column 'nope' not found")
    _one_line_error(bad_tune, "holds summary.md but no study.db")
    for folder in (train_dir, study_dir):
        assert [p.name for p in folder.rglob("*")] == ["summary.md"] and (
            folder / "summary.md"
        ).read_text() == "my results"


def test_a_command_refused_in_a_fresh_folder_leaves_no_outputs_folder(tmp_path: Path, small_csv: Path) -> None:
    """`textgru tune` without hparams_search= was a 30-line InterpolationKeyError (its study folder is named by the
    search); a train refused while reading its data left outputs/sentiment/<date>/ (empty) behind."""
    data = ["data=local", f"data.path={small_csv}"]
    no_space = run_script("tune", "n_trials=1", cwd=tmp_path)  # one after the other: each makes outputs/
    params_only = run_script("tune", "++hparams_search.params={optimizer.lr: 'interval(1e-3, 1e-2)'}", cwd=tmp_path)
    bad_column = run_script("train", *data, "data.text_column=nope", *TINY_MODEL, cwd=tmp_path)
    for refused in (no_space, params_only):  # the second: a review (a traceback, as the interval() hint led to)
        _one_line_error(refused, "name a search space: hparams_search=sentiment or hparams_search=lm")
    _one_line_error(bad_column, "column 'nope' not found")
    assert not (tmp_path / "outputs").exists()


def test_a_search_run_as_a_sweep_keeps_its_study_in_the_sweep_folder(tmp_path: Path, small_csv: Path) -> None:
    """`textgru train -m hparams_search=... hydra.sweep.dir=X` ignored X: the study went to ./outputs/."""
    data = ["data=local", f"data.path={small_csv}", "data.text_column=nope"]  # the trial fails fast, after the study
    search = ["-m", "hparams_search=sentiment", "n_trials=1", "hydra.sweep.dir=study", *data]
    r = run_script("train", *search, cwd=tmp_path)
    _one_line_error(r, "1 trial(s) of the search failed")
    assert (tmp_path / "study" / "study.db").exists() and not (tmp_path / "outputs").exists(), r.stderr[-2000:]


def test_output_into_a_pipe_closed_early_ends_without_a_traceback(ckpt: Path) -> None:
    """`textgru train --help | head -1` printed a BrokenPipeError traceback (Hydra's report of it), as did predict's
    JSONL into a pipe whose reader had stopped; now the reader's early exit ends the command quietly."""

    def closed_early(*args: str) -> tuple[int, str]:
        p = subprocess.Popen([sys.executable, "-m", "textgru", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.close()  # the reader is gone before the command writes its first line (it takes a second to start)
        err = p.stderr.read().decode()
        return p.wait(timeout=120), err

    (helped, _), (printed, _) = timed_together(
        [lambda: closed_early("train", "--help"), lambda: closed_early("predict", f"ckpt_path={ckpt}", "text=hi")]
    )
    assert helped == (-signal.SIGPIPE, ""), helped  # Hydra's own printing ends by SIGPIPE, as Unix tools do
    assert printed == (141, ""), printed  # the same to a shell: 128 + SIGPIPE, not a failure's 1 (a CLI review)


def test_a_standard_stream_the_shell_closed_is_one_line_or_no_matter(ckpt: Path, tmp_path: Path) -> None:
    """`textgru predict ... >&-` was a traceback (predict's terminal check read None's isatty; what the other commands
    print to a closed stdout, Python's None, went nowhere with exit 0); a closed stderr made Hydra's report one. A
    command whose products are files (eval's report) drops its summary with a warning and succeeds (a review: exit
    1 after the report was written, and a script counted it failed)."""

    def closed(fd: int, *args: str) -> tuple[int, str, str]:
        command = ["bash", "-c", f'exec "$@" {fd}>&-', "-", sys.executable, "-m", "textgru", *args]
        p = subprocess.run(command, capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr

    (no_stdout, _), (no_stderr, _), (summary, _), (config, _) = timed_together(
        [
            lambda: closed(1, "predict", f"ckpt_path={ckpt}", "text=hi"),
            lambda: closed(2, "predict", f"ckpt_path={ckpt}", "text=hi"),
            lambda: closed(1, "eval", f"ckpt_path={ckpt}", f"output_dir={tmp_path / 'ev'}"),
            lambda: closed(1, "train", "--cfg", "job"),  # all it would print (a review: Hydra's traceback)
        ]
    )
    assert config[0] == 1 and config[2] == no_stdout[2], config
    assert summary[0] == 0 and summary[2].count("standard output is closed (`>&-`): the summary is dropped") == 1
    assert (tmp_path / "ev" / "test_metrics.json").is_file(), summary
    assert no_stdout[0] == 1 and no_stdout[2] == (
        "error: cannot write to standard output: it is closed (`>&-`); send it to a file or to /dev/null instead\n"
    ), no_stdout
    assert no_stderr[0] == 0 and '"label"' in no_stderr[1], no_stderr  # its predictions, on the stdout it has


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device that is always full)")
def test_output_to_a_full_disk_is_one_line(ckpt: Path, lm_run: Path) -> None:
    """Found by a review: `textgru predict ... > preds.jsonl` on a full disk ended with Hydra's traceback of
    OSError: [Errno 28], as did generate's streamed text."""

    def into_full_disk(*args: str) -> tuple[int, str]:
        with open("/dev/full", "w") as full:
            p = subprocess.run([sys.executable, "-m", "textgru", *args], stdout=full, stderr=subprocess.PIPE, text=True)
        return p.returncode, p.stderr

    results = timed_together(
        [
            lambda: into_full_disk("predict", f"ckpt_path={ckpt}", "text=hi"),
            lambda: into_full_disk("generate", f"ckpt_path={lm_run}", "prompt=ROMEO:", "max_new_tokens=5", "seed=1"),
        ]
    )
    for (code, err), _ in results:
        assert code == 1 and "Traceback" not in err, err[-2000:]
        assert err.strip().splitlines()[-1] == (
            "error: cannot write to standard output (No space left on device); free some space, or write to a file "
            "with output="
        ), err[-2000:]


def test_a_stopped_stream_ends_its_line_before_saying_so(lm_run: Path) -> None:
    """Found by a review: SIGTERM during a streamed `textgru generate` glued 'error: ... was stopped' to the text."""
    cmd = [sys.executable, "-m", "textgru", "generate", f"ckpt_path={lm_run}", "prompt=ROMEO:", "max_new_tokens=100000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.read(20)  # the prompt and some of the text: streaming has begun
    proc.send_signal(signal.SIGTERM)
    rest, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and first.startswith(b"ROMEO:"), stderr[-2000:]
    assert (first + rest).endswith(b"\n"), (first + rest)[-200:]
    assert (
        stderr.decode().splitlines()[-1] == "error: textgru generate was stopped (Ctrl+C or SIGTERM) before it finished"
    )


def test_sigterm_stops_a_command_in_one_line_leaving_nothing(tmp_path: Path, ckpt: Path) -> None:
    """SIGTERM acts as Ctrl+C (KeyboardInterrupt), so the files a command writes aside are removed by its `finally`
    blocks (export's hidden staging folder was left behind); here predict waits for stdin when it is stopped."""
    out = tmp_path / "preds.jsonl"
    cmd = [sys.executable, "-m", "textgru", "predict", f"ckpt_path={ckpt}", f"output={out}"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while "pipe" not in Path(f"/proc/{proc.pid}/wchan").read_text() and time.monotonic() < deadline:
        time.sleep(0.2)  # until it blocks reading stdin (the handler is in place long before)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr[-2000:]
    assert [line for line in stderr.splitlines() if line.startswith("error:")] == [
        "error: textgru predict was stopped (Ctrl+C or SIGTERM) before it finished"
    ]
    assert list(tmp_path.iterdir()) == []


def test_missing_ckpt_path() -> None:
    r = run_script("predict", "text=hello")
    _one_line_error(r, "ckpt_path is required")


def test_a_file_without_rows_is_one_line_naming_it(tmp_path: Path) -> None:
    """One file read alone (training's, or an evaluation's) names no split: a review read "the train split is empty"
    on `textgru eval data.path=<header-only file>`."""
    from textgru.data.local import load_local

    header = write_csv(tmp_path / "header.csv", [], text_col="text", label_col="label")
    with pytest.raises(TextgruError, match=r"^'.*header.csv' has no data rows \(a header at most\); give a file with"):
        load_local(str(header))
    train = write_csv(tmp_path / "train.csv", make_rows(20), text_col="text", label_col="label")
    with pytest.raises(TextgruError, match=r"^the validation split is empty: '.*header.csv' has no data rows"):
        load_local(str(train), validation_path=str(header))


def test_an_empty_parquet_file_is_one_line_naming_it(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    """A review: a zero-row Parquet file printed pyarrow's "Failed to read file ... BatchSize must be greater than 0"
    lines, then "could not read ... as parquet": it has no rows, as a header-only CSV."""
    import pandas as pd

    from textgru.data.local import load_local

    empty, train = tmp_path / "empty.parquet", tmp_path / "train.parquet"
    pd.DataFrame({"text": pd.Series([], dtype=str), "label": pd.Series([], dtype=str)}).to_parquet(empty)
    pd.DataFrame({"text": [t for t, _ in make_rows(20)], "label": [y for _, y in make_rows(20)]}).to_parquet(train)
    with pytest.raises(TextgruError, match=r"^'.*empty.parquet' has no data rows \(a header at most\); give a file"):
        load_local(str(empty))
    with pytest.raises(TextgruError, match=r"^the test split is empty: '.*empty.parquet' has no data rows"):
        load_local(str(train), test_path=str(empty))
    assert "BatchSize" not in capfd.readouterr().err


@pytest.mark.slow  # ~9 s; test_a_file_without_rows_is_one_line_naming_it covers the same check in the default run
def test_empty_validation_file(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", make_rows(60), text_col="text", label_col="label")
    val = write_csv(tmp_path / "val.csv", [], text_col="text", label_col="label")
    r = _train(tmp_path, "data=local", f"data.path={train}", f"data.validation_path={val}")
    _one_line_error(r, "validation split is empty")


def test_rows_without_label_are_dropped_not_a_class(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from textgru.data.labelled import load_classification_data

    rows = make_rows(60) + [("no label here", ""), ("", "pos")]
    p = write_csv(tmp_path / "d.csv", rows, text_col="text", label_col="label")
    with caplog.at_level("INFO", logger="textgru.data.labels"):
        dd = load_classification_data(data_cfg("local", path=str(p)))
    assert dd["train"].features["label"].names == ["neg", "neutral", "pos"]
    assert sum(len(v) for v in dd.values()) == 60
    said = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]  # a review: "d.csv/train", no path
    assert said == [f"{p} (training rows): dropped 1 empty or missing texts", f"{p} (training rows): dropped 1 rows "
                    "without a label"], said  # fmt: skip


def test_empty_texts_of_label_folders_are_told_by_the_folder_given(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: a folder of label folders said "<folder>/train: dropped 1 empty or missing texts", a folder that is
    not (and a val/ folder's would have been "<folder>/validation")."""
    from textgru.data.labelled import load_classification_data

    for root, parts in ((tmp_path / "flat", [""]), (tmp_path / "split", ["train", "val"])):
        for part in parts:
            for i, (text, label) in enumerate(make_rows(60)):
                (root / part / label).mkdir(parents=True, exist_ok=True)
                (root / part / label / f"{i}.txt").write_text(text, encoding="utf-8")
            (root / part / "pos" / "empty.txt").write_text(" ", encoding="utf-8")
    for root, said in (
        (tmp_path / "flat", ["training"]),
        (tmp_path / "split", ["training", "validation"]),
    ):
        caplog.clear()
        with caplog.at_level("INFO", logger="textgru.data.labels"):
            load_classification_data(data_cfg("local", path=str(root)))
        dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
        assert dropped == [f"{root} ({rows} rows): dropped 1 empty or missing texts" for rows in said], dropped


def _tiny_run_with(tmp_path: Path, small_csv: Path, *callback: str):
    """A one-epoch run of the tiny model on `small_csv` with a callback of conftest's (`+callbacks.<name>...`)."""
    return run_script(
        "train",
        "data=local",
        f"data.path={small_csv}",
        "data.text_column=review",
        "data.label_column=sentiment",
        *TINY_MODEL,
        "trainer.max_epochs=1",
        f"hydra.run.dir={tmp_path / 'run'}",
        *callback,
        env={"PYTHONPATH": str(Path(__file__).parent)},
    )


def test_failed_run_leaves_no_finished_looking_best_ckpt(tmp_path: Path, small_csv: Path) -> None:
    r = _tiny_run_with(tmp_path, small_csv, "+callbacks.boom._target_=conftest.FailAtTest")
    assert r.returncode != 0 and "simulated crash" in r.stderr
    ckpts = tmp_path / "run" / "checkpoints"
    assert not (ckpts / "best.ckpt").exists() and (ckpts / "best-unfinished.ckpt").is_file()
    assert not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.parametrize(
    "saved,said",
    [
        (["+callbacks.nan.step=2"], "the training loss is nan at step 3 (epoch 0): training diverged, and stopped"),
        (
            ["+callbacks.nan.step=1", "callbacks.checkpoint.every_n_steps=2"],  # saved before the loss is checked
            "the weights (model.embedding.weight) hold NaN or infinite values at step 2 (epoch 0): training diverged",
        ),
        (  # a review: said once per process; and one process's NaN was "another process ended ... out of memory?"
            ["trainer=ddp_cpu", "+callbacks.nan.step=2", "+callbacks.nan.rank=1"],
            "the training loss is nan at step 3 (epoch 0): training diverged, and stopped",
        ),
    ],
    ids=["loss", "checkpoint", "one-of-two-processes"],
)
def test_a_run_whose_loss_is_not_finite_stops_in_one_line(
    tmp_path: Path, small_csv: Path, saved: list[str], said: str
) -> None:
    """A review: a run that trained NaN from its first step (trainer.precision=16-true on CPU) "finished", exit 0,
    NaN metrics and checkpoints that `predict` refuses; a diverged run now stops at the step, no best.ckpt. The
    review of that change: the step that made the weights NaN had a finite loss, and a checkpoint then saved them."""
    r = _tiny_run_with(tmp_path, small_csv, "+callbacks.nan._target_=conftest.NanWeightsAt", *saved)
    _one_line_error(r, said, "lower optimizer.lr")
    assert not (tmp_path / "run" / "checkpoints" / "best.ckpt").exists()
    assert not (tmp_path / "run" / "metrics.json").exists()
    for ckpt in (tmp_path / "run" / "checkpoints").glob("*.ckpt"):
        weights = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
        assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point()), ckpt


@pytest.mark.parametrize(
    "args,needles",
    [
        (["-m", "model.hiden_size=64,128"], ["no config key model.hiden_size", "did you mean model.hidden_size?"]),
        (["trainer=ddp"], ["needs a GPU", "trainer=ddp_cpu"]),
        pytest.param(["optimized_metric=val/bpc"], ["val/bpc", "val/macro_f1"], marks=pytest.mark.slow),
    ],
)
def test_sweep_and_scale_out_mistakes(tmp_path: Path, args: list[str], needles: list[str]) -> None:
    """Sweep and trainer mistakes fail before any work, in one line, and leave no run or sweep folder."""
    if args[0] == "trainer=ddp" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    r = run_script("train", *args, f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    _one_line_error(r, *needles)
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    "overrides,match",
    [
        (["trainer=gpu"], "needs a GPU.*trainer=cpu"),
        (["trainer=ddp_cpu", "trainer.devices=64"], "trainer.devices=64 but this machine has .* CPU cores"),
        # a review: Lightning waited for the other node's processes for ever, SIGTERM and Ctrl+C unheard
        (["trainer=ddp_cpu", "trainer.num_nodes=2"], "trainer.num_nodes=2, but nothing started this command on other"),
        # a review: found in each rank (said twice), after the run folder was made, which then refused the fix
        (
            ["trainer=ddp_cpu", "task=lm", "data.batch_size=1"],
            r"data.batch_size=1 is the global batch .* processes \(2\)",
        ),
        # a review: Lightning refused these after the data was read, trained bf16 for 16-mixed, and NaN for 16-true
        (["trainer=ddp_cpu", "trainer.devices=-1"], r"trainer.devices=-1: on CPU it is a count of processes"),
        (["trainer=ddp_cpu", "trainer.devices=[0,1]"], r"trainer.devices=\[0, 1\]: on CPU it is a count of"),
        (
            ["trainer.precision=16-mixed"],
            "16-mixed is half-precision AMP for GPUs; on CPU .*use trainer.precision=bf16",
        ),
        (["trainer.precision=16-true"], "16-true does not train on CPU .*NaN from the first step"),
        (["task=lm", "optimized_metric=val/macro_f1"], "not a validation metric task=lm logs; use one of: val/loss"),
        (["optimized_metric=test/macro_f1"], "not a validation metric"),
        (["optimized_mode=up"], "optimized_mode=up: must be one of min, max"),
        # a review: the best checkpoint kept the worst weights (0.758 where later epochs reached 1.0)
        (["callbacks.model_checkpoint.mode=min"], r"callbacks.model_checkpoint.mode=min goes against optimized_mode="),
        (["callbacks.early_stopping.mode=min"], r"callbacks.early_stopping.mode=min goes against optimized_mode=max"),
    ],
)
def test_trainer_and_metric_checks_come_before_any_work(
    tmp_path: Path, overrides: list[str], match: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hydra import compose, initialize_config_dir

    from textgru.config import CONF_DIR
    from textgru.errors import TextgruError
    from textgru.tasks import task_module
    from textgru.training import train

    if overrides[0] == "trainer=gpu" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")

    def work(cfg) -> None:  # a task's build: the data read and tokenized, then the model (then the Trainer, fit)
        raise AssertionError(f"the data was read before the refusal ({match})")

    for name in ("sentiment", "lm"):  # what, not how long: the first train() imports datasets and pandas (~1-3 s)
        monkeypatch.setattr(task_module(name), "build", work)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, f"paths.run_dir={tmp_path / 'run'}"])
    with pytest.raises(TextgruError, match=match):
        train(cfg)
    assert not (tmp_path / "run").exists()
    # a search too, before its study is made (a review: each trial failed, and the study kept the setting)
    from textgru.tuning import tune

    space = "hparams_search=lm" if "task=lm" in overrides else "hparams_search=sentiment"
    study = [*overrides, space, f"paths.run_dir={tmp_path / 'study'}"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=study)
        with pytest.raises(TextgruError, match=match):
            tune(cfg, study)
    assert not (tmp_path / "study").exists()


def test_search_space_with_a_missing_key(tmp_path: Path) -> None:
    r = run_script(
        "tune",
        "hparams_search=sentiment",
        "n_trials=1",
        f"hydra.run.dir={tmp_path / 'study'}",
        "++hparams_search.params={model.hiden_size: 'choice(1, 2)'}",
    )
    _one_line_error(r, "model.hiden_size")
    assert not (tmp_path / "study" / "study.db").exists()


@pytest.mark.parametrize(
    "override,said",
    [
        ("hparams_search.sampler=null", "hparams_search.sampler=null must be a mapping with its _target_"),
        ("~hparams_search.pruner", "hparams_search lacks pruner; a search config sets study_name, n_trials,"),
        ("~hparams_search.n_trials", "hparams_search lacks n_trials;"),  # a hand-written file's: study.db was made
        ("hparams_search.params=abc", "hparams_search.params='abc' must be {key: 'interval(lo, hi)', ...}"),
        ("hparams_search.params=null", "hparams_search.params=null must be"),
        ("hparams_search.pruner=median", "hparams_search.pruner='median' must be a mapping with its _target_"),
        ("~hparams_search.sampler._target_", "hparams_search.sampler has no _target_: name its class"),
    ],
)
def test_search_settings_of_the_wrong_shape_are_one_line(override: str, said: str) -> None:
    """A review: each was a traceback (ValueError, ConfigAttributeError, AttributeError) after `.hydra/` and
    tune.log were written, or named the wrong key."""
    from textgru.config import compose_config
    from textgru.config_checks import check_config
    from textgru.errors import TextgruError

    cfg = compose_config("train", ["hparams_search=sentiment", override])
    with pytest.raises(TextgruError, match=re.escape(said)):
        check_config(cfg, "train")
    check_config(compose_config("train", ["hparams_search=sentiment", "hparams_search.pruner=null"]), "train")


def test_a_list_where_the_config_holds_a_mapping_names_the_form_it_takes(tmp_path: Path) -> None:
    """A review: `hparams_search.params=[1,2]` was Hydra's bare "Error merging override ..." with no fix, where
    `hparams_search.params=null` names the form a search space takes."""
    from textgru.config import check_override_keys

    said = {
        "hparams_search.params=[1,2]": "hparams_search.params=[1,2] must be {key: 'interval(lo, hi)', ...}",
        "hparams_search.pruner=[1]": "hparams_search.pruner=[1] must be a mapping with its _target_ (an optuna class) "
        "or null",
        "callbacks.early_stopping=[1]": "callbacks.early_stopping=[1] must be a mapping, {key: value, ...}",
    }
    for override, line in said.items():
        with pytest.raises(TextgruError, match=f"^{re.escape(line)}, not a list$"):
            check_override_keys(["hparams_search=sentiment", override, "hydra.job.name=tune"], "train")
    r = run_script("tune", "hparams_search=sentiment", "hparams_search.params=[1,2]", f"hydra.run.dir={tmp_path}/s")
    _one_line_error(r, said["hparams_search.params=[1,2]"])
    assert not (tmp_path / "s").exists()


def test_tune_without_a_search_space(tmp_path: Path) -> None:
    r = run_script("tune", f"hydra.run.dir={tmp_path / 'study'}")
    _one_line_error(r, "hparams_search=sentiment")


@pytest.mark.parametrize(
    "args",
    [
        ["hydra/hydra_logging=disabled"],
        ["+hydra.job.env_set.X=1"],
        ["++hydra.run.dir=/tmp/x"],
        ["model=glob(*)", "seed=1"],
        ["experiment=choice(tweets_bigru,sst2_bigru)", "trainer.max_epochs=1"],
        ["+data@extra=tweets"],
        ["callbacks.early_stopping={monitor: val/loss, mode: min}", "callbacks.early_stopping.mode=min"],
        ["model.hidden_size=128,256", "seed=1,2"],
        ["task=lm", "model.tie_weights=true"],
        ["~callbacks.lr_monitor"],
        ["++trainer.benchmark=true"],  # new keys where a class takes them (+foo=1, where none does: test_bad_config)
        ["+model.new_key=3"],
        ["optimizer.lr=tag(log, interval(1e-4, 1e-2))"],
        ["model=choice(gru_lm)", "task=lm", "model.tie_weights=true"],
        ["hparams_search=sentiment"],
    ],
)
def test_valid_command_lines_pass_the_key_check(args: list[str]) -> None:
    from textgru.config import check_override_keys

    check_override_keys(args, "train")  # no TextgruError


@pytest.mark.parametrize(
    "args,key",
    [
        (["model.hiden_size=1"], "model.hiden_size"),
        (["-m", "model.hiden_size=1,2"], "model.hiden_size"),
        (["task=lm", "model.pooling=mean"], "model.pooling"),
    ],
)
def test_missing_keys_fail_the_key_check(args: list[str], key: str) -> None:
    from textgru.config import check_override_keys
    from textgru.errors import TextgruError

    with pytest.raises(TextgruError, match=f"^no config key {key}:"):
        check_override_keys(args, "train")
