"""Sweeps through the real scripts: a Hydra multirun with its summary table, and Optuna searches (SQLite study
resumed by a second call, pruning, best parameters as an experiment, data-parallel trials)."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import ROOT, run_script, run_scripts

TINY = [
    "model.embedding_dim=16",
    "model.hidden_size=16",
    "data.batch_size=16",
    "logger.tensorboard=false",
    "trainer.enable_progress_bar=false",
    "model.pretrained_embeddings=null",
]


def _data(csv_path: Path) -> list[str]:
    return ["data=local", f"data.path={csv_path}", "data.text_column=review", "data.label_column=sentiment"]


# a search space small enough for tests: every trial is a tiny model (`~` first: a dict given on the command line
# is merged into the config's, which would keep the space's other keys, e.g. model.embedding_dim up to 200)
# the slow tests' runs: 400 s, or TEXTGRU_TEST_TIMEOUT where that is larger (a crowded machine)
SLOW_TIMEOUT = max(400, int(os.environ.get("TEXTGRU_TEST_TIMEOUT", "0")))

SPACE = [
    "~hparams_search.params",
    "+hparams_search.params={optimizer.lr: 'tag(log, interval(1e-3, 1e-2))', model.hidden_size: 'choice(8, 16)', "
    "model.pooling: 'choice(mean, max)'}",
]
SEARCH_TINY = [o for o in TINY if o.partition("=")[0] != "model.hidden_size"]  # SPACE searches it: refused given


def test_multirun_2x2_writes_four_runs_and_a_summary_best_first(tmp_path: Path, small_csv: Path) -> None:
    sweep = tmp_path / "sweep"
    r = run_script(
        "train",
        "-m",
        "task=sentiment",
        *_data(small_csv),
        *TINY,
        "trainer.max_epochs=1",
        "model.hidden_size=8,16",
        "seed=1,2",
        f"hydra.sweep.dir={sweep}",
        timeout=400,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    runs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in runs] == ["0", "1", "2", "3"]
    assert all((p / "metrics.json").exists() and (p / "checkpoints" / "best.ckpt").exists() for p in runs)
    rows = list(csv.DictReader((sweep / "summary.csv").open()))
    assert len(rows) == 4
    assert {(row["model.hidden_size"], row["seed"]) for row in rows} == {
        ("8", "1"),
        ("8", "2"),
        ("16", "1"),
        ("16", "2"),
    }
    scores = [float(row["val/macro_f1"]) for row in rows]
    assert scores == sorted(scores, reverse=True)  # best first
    for row in rows:  # each row's numbers are its own run's
        metrics = json.loads((sweep / row["run"] / "metrics.json").read_text())
        assert float(row["test/macro_f1"]) == pytest.approx(metrics["test/macro_f1"], abs=1e-6)
    markdown = (sweep / "summary.md").read_text()
    assert markdown.count("\n| ") == 5 and "| model.hidden_size | seed |" in markdown.replace("| run | status ", "")
    assert "val/macro_f1" in r.stdout and "summary.csv" in r.stdout  # printed too


def test_optuna_search_stores_resumes_and_writes_the_best_experiment(tmp_path: Path, small_csv: Path) -> None:
    study_dir = tmp_path / "study"
    tiny = SEARCH_TINY
    common = [
        "hparams_search=sentiment",
        *_data(small_csv),
        *tiny,
        "trainer.fast_dev_run=true",
        *SPACE,
        f"hydra.run.dir={study_dir}",
    ]
    r = run_script("tune", *common, "n_trials=2", timeout=400)
    assert r.returncode == 0, r.stderr[-3000:]
    study = optuna.load_study(study_name="sentiment", storage=f"sqlite:///{study_dir / 'study.db'}")
    assert len(study.trials) == 2 and all(t.state.name == "COMPLETE" for t in study.trials)
    assert sorted(p.name for p in study_dir.glob("trial_*")) == ["trial_000", "trial_001"]
    for i in (0, 1):  # each trial's own log, as every run folder has (a review: only the study's tune.log)
        assert "task=sentiment, seed" in (study_dir / f"trial_00{i}" / "train.log").read_text()
    best = yaml.safe_load((study_dir / "best_experiment.yaml").read_text())
    assert best["model"]["hidden_size"] == study.best_params["model.hidden_size"]
    assert best["optimizer"]["lr"] == pytest.approx(study.best_params["optimizer.lr"])
    assert best["defaults"] == [{"override /task": "sentiment"}]
    # its header's commands train the best trial again (a review: the file alone trained another model, on the tweets)
    header = (study_dir / "best_experiment.yaml").read_text().splitlines()
    again = shlex.split(next(x for x in header if x.startswith("# Train it again: ")).split("textgru train ", 1)[1])
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    shutil.copy(study_dir / "best_experiment.yaml", tmp_path / "conf" / "experiment" / "best.yaml")
    as_experiment = shlex.split(
        next(x for x in header if x.startswith("# or copy this file")).split("textgru train ")[1]
    )
    assert as_experiment[0] == "experiment=NAME" and "optimizer.lr" not in " ".join(as_experiment)
    trial = yaml.safe_load((study_dir / f"trial_{study.best_trial.number:03d}" / "config.yaml").read_text())
    for args in (again, ["experiment=best", *as_experiment[1:]]):
        r = run_script("train", *args, "--cfg", "job", cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        composed = yaml.safe_load(r.stdout)
        for section, key in (
            ("data", "path"),
            ("model", "hidden_size"),
            ("model", "embedding_dim"),
            ("model", "pooling"),
        ):
            assert composed[section][key] == trial[section][key], (args, section, key)
        assert composed["optimizer"]["lr"] == pytest.approx(trial["optimizer"]["lr"])
        assert composed["trainer"]["fast_dev_run"] is True
    # each trial trained the parameters Optuna suggested
    for t in study.trials:
        config = yaml.safe_load((study_dir / f"trial_{t.number:03d}" / "config.yaml").read_text())
        assert config["model"]["hidden_size"] == t.params["model.hidden_size"]
        assert config["optimizer"]["lr"] == pytest.approx(t.params["optimizer.lr"])
    # the user's command of the issue, train.py -m hparams_search=..., continues the same study; here with the
    # search space in the user's ./conf (a trial's config could not find it: it was composed without ./conf)
    own = tmp_path / "conf" / "hparams_search" / "mine.yaml"
    own.parent.mkdir()
    own.write_text((ROOT / "src" / "textgru" / "conf" / "hparams_search" / "sentiment.yaml").read_text())
    mine = [o.replace("hparams_search=sentiment", "hparams_search=mine") for o in common]
    r = run_script("train", "-m", *mine, "n_trials=1", timeout=400, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    study = optuna.load_study(study_name="sentiment", storage=f"sqlite:///{study_dir / 'study.db'}")
    assert [t.number for t in study.trials] == [0, 1, 2]
    # resumed, the sampler draws new parameters instead of repeating the first call's
    assert study.trials[2].params != study.trials[0].params
    assert len(list(csv.DictReader((study_dir / "summary.csv").open()))) == 3
    # another space cannot continue the study: one line before any trial (Optuna's own error left a trial running)
    changed = [o.replace("choice(8, 16)", "choice(8, 32)") for o in common]
    r = run_script("tune", *changed, "n_trials=1", timeout=400)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith(
        "error: hparams_search: model.hidden_size is searched differently now than in the study stored in"
    ), r.stderr[-2000:]
    assert r.stderr.strip().endswith("(or another hydra.run.dir=, where you gave one)")  # a review: a fix refused
    # nor other bounds, or another set of keys (a review: the best trial came from a space the study was not given)
    for old_spec, new_spec, said in (
        ("interval(1e-3, 1e-2)", "interval(1e-3, 5e-2)", "optimizer.lr is searched differently now"),
        (", model.pooling: 'choice(mean, max)'", "", "the space given now drops model.pooling, against the study"),
        ("}", ", model.dropout: 'interval(0.1, 0.5)'}", "the space given now adds model.dropout, against the study"),
    ):
        changed = [o.replace(old_spec, new_spec) for o in common]
        r = run_script("tune", *changed, "n_trials=1", timeout=400)
        assert r.returncode == 2 and said in r.stderr.strip().splitlines()[-1], r.stderr[-2000:]
    # a plain value of a searched key: no trial would use it (a review: model.hidden_size=16 given, 8 trained)
    r = run_script("tune", *common, "model.hidden_size=16", "n_trials=1", timeout=400)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith(
        "error: model.hidden_size=16 sets a key the search also searches (hparams_search.params has model.hidden_size)"
    ), r.stderr[-2000:]
    study = optuna.load_study(study_name="sentiment", storage=f"sqlite:///{study_dir / 'study.db'}")
    assert len(study.trials) == 3  # none of these refused calls added a trial
    # nor other fixed settings (a review: a study run again with other settings mixed them, silently, and its
    # best_experiment.yaml named this call's settings for a best trial trained with the first call's)
    r = run_script("tune", *common, "model.embedding_dim=8", "n_trials=1", timeout=400)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith(
        f"error: the study in {study_dir} was run with other settings (model.embedding_dim: 16 then, 8 now): "
    ), r.stderr[-2000:]
    # nor another fixed value in the space, which every trial would train with (a review: taken, and the study's
    # best_experiment.yaml then named this call's value for a best trial trained with the default)
    fixed = [o.replace("}", ", model.dropout: '0.5'}") for o in common]
    r = run_script("tune", *fixed, "n_trials=1", timeout=400)
    assert r.returncode == 2 and "(model.dropout: 0.3 then, 0.5 now)" in r.stderr.strip().splitlines()[-1], r.stderr
    # while the same settings given otherwise (another order, a default spelled out, '+'/quotes) go on with it
    same = [*common[:1], *reversed(tiny), *_data(small_csv), *common[1 + len(_data(small_csv)) + len(tiny) :]]
    same += ["task=sentiment", "data.num_workers=0", "++model.embedding_dim=16"]
    r = run_script("tune", *same, "n_trials=1", timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    study = optuna.load_study(study_name="sentiment", storage=f"sqlite:///{study_dir / 'study.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4


def test_a_search_refuses_a_folder_it_would_overwrite_a_study_it_cannot_read_and_the_wrong_direction(
    tmp_path: Path,
) -> None:
    """Each refused before any trial, in one line: a folder of other files (a -m sweep's summary was overwritten), a
    study.db SQLite cannot read (SQLAlchemy's traceback), a direction against optimized_mode (the worst trial was
    reported best), and a stored study of the other direction (silently kept)."""
    from textgru.config import compose_config
    from textgru.errors import TextgruError
    from textgru.search_space import parse_search_space
    from textgru.tuning import tune

    space = parse_search_space({"model.hidden_size": "choice(8, 16)"})

    def search(folder: Path, *more: str) -> None:
        tune(compose_config("train", ["hparams_search=sentiment", f"paths.run_dir={folder}", *more]), [], space=space)

    used = tmp_path / "used"
    used.mkdir()
    (used / "summary.md").write_text("my sweep's results")
    with pytest.raises(TextgruError, match="used holds summary.md but no study.db"):
        search(used)
    assert sorted(p.name for p in used.iterdir()) == ["summary.md"] and (used / "summary.md").read_text().startswith(
        "my"
    )
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "study.db").write_text("not a database")
    with pytest.raises(TextgruError, match=r"study.db cannot be read as an Optuna study \(.*\); move it aside"):
        search(unreadable)
    (tmp_path / "folder" / "study.db").mkdir(parents=True)  # a review: a new study name was advised, which kept it
    with pytest.raises(TextgruError, match=r"study.db is a folder, not .*another study folder \(hydra.run.dir=\)$"):
        search(tmp_path / "folder")
    with pytest.raises(TextgruError, match="^hparams_search.direction=minimize goes against optimized_mode=max"):
        search(tmp_path / "new", "hparams_search.direction=minimize")
    with pytest.raises(TextgruError, match="Hub dataset 'imdb' cannot be downloaded: HF_DATASETS_OFFLINE=1"):
        search(tmp_path / "hub", "data=imdb")  # offline, not cached: it failed in every trial, each stored
    assert not (tmp_path / "hub").exists()
    assert not (tmp_path / "new").exists()
    stored = tmp_path / "stored"
    stored.mkdir()
    optuna.create_study(study_name="sentiment", storage=f"sqlite:///{stored / 'study.db'}", direction="minimize")
    with pytest.raises(TextgruError, match=r"is to minimize, and this search would maximize.*\(or another hydra.run"):
        search(stored)
    # another study's folder: its summary.csv/md were overwritten, its trial_000 counted as this study's failure
    with pytest.raises(TextgruError, match="holds the study 'sentiment', and a folder holds one study"):
        search(stored, "hparams_search.study_name=other")
    assert optuna.get_all_study_names(f"sqlite:///{stored / 'study.db'}") == ["sentiment"]
    # a review: another program's SQLite file as study.db (an MLflow store) had Optuna's tables written into it
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with sqlite3.connect(foreign / "study.db") as db:
        db.execute("CREATE TABLE experiments (id INTEGER)")
    before = (foreign / "study.db").read_bytes()
    with pytest.raises(TextgruError, match=r"study.db is another program's SQLite database \(tables experiments"):
        search(foreign)
    assert (foreign / "study.db").read_bytes() == before
    # and an empty study.db beside trial folders started a new study over them (its summary overwritten)
    emptied = tmp_path / "emptied"
    (emptied / "trial_000").mkdir(parents=True)
    (emptied / "study.db").touch()
    with pytest.raises(TextgruError, match=r"emptied holds trial_000 but no study.db \(or an empty one\)"):
        search(emptied)
    # an MLflow server that does not answer: one line before study.db is made (it was left behind)
    quiet = ["logger=mlflow", "logger.mlflow.tracking_uri=http://127.0.0.1:9"]
    with pytest.raises(TextgruError, match="no tracking server answers there"):
        search(tmp_path / "untracked", *quiet)
    assert not (tmp_path / "untracked").exists()


def test_a_study_compares_its_data_files_not_their_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: `data.path=data.csv` given again from another folder, another file, was taken as the study's
    settings, and its trials ranked with the first file's; one stored relative by an older study still resumes."""
    from textgru.config import compose_config
    from textgru.errors import TextgruError
    from textgru.search_space import SETTINGS_ATTR, check_same_settings

    study = optuna.create_study()
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path)
    check_same_settings(study, compose_config("train", ["data=local", "data.path=data.csv"]), tmp_path)
    assert study.user_attrs[SETTINGS_ATTR]["data.path"] == str(tmp_path / "data.csv")
    check_same_settings(study, compose_config("train", ["data=local", f"data.path={tmp_path / 'data.csv'}"]), tmp_path)
    monkeypatch.chdir(tmp_path / "other")
    with pytest.raises(TextgruError, match=rf"data.path: {tmp_path}/data.csv then, {tmp_path}/other/data.csv now"):
        check_same_settings(study, compose_config("train", ["data=local", "data.path=data.csv"]), tmp_path)
    older = optuna.create_study()
    check_same_settings(older, compose_config("train", ["data=local", "data.path=other/data.csv"]), tmp_path)
    older.set_user_attr(SETTINGS_ATTR, {**older.user_attrs[SETTINGS_ATTR], "data.path": "data.csv"})  # as stored then
    check_same_settings(older, compose_config("train", ["data=local", "data.path=data.csv"]), tmp_path)
    # the review of that: a setting textgru added since (at its default), or a path stored unresolved, refused every
    # older study; one the command line adds is still compared
    stored = {k: v for k, v in older.user_attrs[SETTINGS_ATTR].items() if "save_on_train_epoch_end" not in k}
    older.set_user_attr(SETTINGS_ATTR, {**stored, "model.pretrained_lm": "${paths.output_dir}/bilm/tweets"})
    lm = ["data=local", "data.path=data.csv", f"model.pretrained_lm={tmp_path}/outputs/bilm/tweets"]
    check_same_settings(older, compose_config("train", lm), tmp_path, given=["data.path", "model.pretrained_lm"])
    added = "callbacks.model_checkpoint.save_on_train_epoch_end"
    with pytest.raises(TextgruError, match=f"{added}: \\(none\\) then, True now"):
        check_same_settings(older, compose_config("train", [*lm, f"{added}=true"]), tmp_path, given=[added])


def test_a_search_whose_trials_failed_exits_with_2(tmp_path: Path, small_csv: Path) -> None:
    """As a -m sweep with a failed job does: it exited 0 with "no trial completed", so a script could not tell."""
    broken = ["~hparams_search.params", "+hparams_search.params={optimizer._target_: 'choice(torch.optim.Nope)'}"]
    r = run_script(
        "tune", "hparams_search=sentiment", *_data(small_csv), *TINY, "trainer.fast_dev_run=true", *broken, "n_trials=1",
        f"hydra.run.dir={tmp_path / 'study'}", timeout=400,
    )  # fmt: skip
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (  # its folder (a review: its number, 0)
        f"error: 1 trial(s) of the search failed: {tmp_path / 'study' / 'trial_000'} (see above)"
    ), r.stderr[-2000:]
    assert (tmp_path / "study" / "summary.csv").is_file()  # the summary is written first
    # an error textgru does not foresee (a bug) keeps its type and traceback, as in a -m sweep (a review: only
    # "trial 1 failed: 'no such key'" for a KeyError, in tune.log too)
    (tmp_path / "bug.py").write_text(BUG)
    r = run_script(
        "tune", "hparams_search=sentiment", *_data(small_csv), *SEARCH_TINY, "trainer.fast_dev_run=true", *SPACE, "n_trials=1",
        "+callbacks.bug._target_=bug.Bug", "+callbacks.bug.fail=true", f"hydra.run.dir={tmp_path / 'bug'}",
        env={"PYTHONPATH": str(tmp_path)}, timeout=400,
    )  # fmt: skip
    assert r.returncode == 2 and "trial 0 failed: RuntimeError: a bug in a callback" in r.stderr, r.stderr[-2000:]
    assert "Traceback (most recent call last)" in (tmp_path / "bug" / "tune.log").read_text()
    said = (tmp_path / "bug" / "trial_000" / "train.log").read_text()  # and in the trial's own log (a review: not)
    assert "trial 0 failed: RuntimeError: a bug in a callback" in said and "Traceback (most recent" in said


@pytest.mark.slow  # over a minute on 2 cores (issue 14 tests' default-suite budget: 60 s)
def test_median_pruner_keeps_the_better_trial_and_prunes_the_worse(tmp_path: Path, small_csv: Path) -> None:
    """The default pruner (MedianPruner) with n_startup_trials=1, n_warmup_steps=0, over three trials queued in
    the study beforehand: a hopeless learning rate (the startup trial, run in full), a good one (above the median
    of the finished trials at every validation: kept) and the hopeless one again (below the median of the
    finished hopeless and good trials: pruned after its first validation)."""
    study_dir = tmp_path / "study"
    study_dir.mkdir()
    storage = f"sqlite:///{study_dir / 'study.db'}"
    study = optuna.create_study(study_name="sentiment", storage=storage, direction="maximize")
    hopeless, good = {"optimizer.lr": 1e-6}, {"optimizer.lr": 0.05}
    for params in (hopeless, good, hopeless):
        study.enqueue_trial(params)
    r = run_script(
        "tune",
        "hparams_search=sentiment",
        *_data(small_csv),
        *TINY,
        "~hparams_search.params",
        "+hparams_search.params={optimizer.lr: 'tag(log, interval(1e-6, 1e-1))'}",
        "hparams_search.pruner.n_startup_trials=1",
        "hparams_search.pruner.n_warmup_steps=0",
        "n_trials=3",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=5",
        f"hydra.run.dir={study_dir}",
        timeout=SLOW_TIMEOUT,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    study = optuna.load_study(study_name="sentiment", storage=storage)
    assert [t.params for t in study.trials] == [hopeless, good, hopeless]
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    first, better, worse = (t.intermediate_values for t in study.trials)
    assert all(better[step] > first[step] for step in (0, 1))  # above the only finished trial: kept
    assert worse == {0: first[0]}  # the same run as the first up to its first validation, then pruned
    steps = [json.loads((study_dir / f"trial_{i:03d}" / "metrics.json").read_text())["global_step"] for i in range(3)]
    assert steps == [10, 10, 5]  # two epochs of 5 batches, two, one
    stopped = [json.loads((study_dir / f"trial_{i:03d}" / "metrics.json").read_text())["stopped_by"] for i in range(3)]
    assert stopped == ["max_epochs", "max_epochs", "pruned"]


@pytest.mark.slow  # over a minute on 2 cores (issue 14 tests' default-suite budget: 60 s)
def test_a_killed_search_fails_its_running_trial_and_queues_its_parameters_again(
    tmp_path: Path, small_csv: Path
) -> None:
    """scripts/tune.py killed (SIGKILL) in the middle of its first trial; the same command again marks that trial
    failed and runs its parameters first, from the queue."""
    study_dir = tmp_path / "study"
    args = [
        "hparams_search=sentiment",
        *_data(small_csv),
        *SEARCH_TINY,
        *SPACE,
        "n_trials=1",
        "trainer.max_epochs=3",
        f"hydra.run.dir={study_dir}",
    ]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "tune.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    epoch_one = study_dir / "trial_000" / "checkpoints" / "last.ckpt"  # the first trial's first epoch is done
    deadline = time.time() + SLOW_TIMEOUT
    try:
        while not epoch_one.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert epoch_one.exists() and not (study_dir / "trial_000" / "metrics.json").exists()
    storage = f"sqlite:///{study_dir / 'study.db'}"
    killed = optuna.load_study(study_name="sentiment", storage=storage).trials
    assert [t.state.name for t in killed] == ["RUNNING"]  # what the kill left in the study

    r = run_script("tune", *args, timeout=SLOW_TIMEOUT)
    assert r.returncode == 0, r.stderr[-3000:]
    trials = optuna.load_study(study_name="sentiment", storage=storage).trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert "trial 0 was interrupted; its parameters are queued again" in r.stdout + r.stderr
    assert trials[1].params == killed[0].params
    assert trials[1].system_attrs["fixed_params"] == killed[0].params  # from the queue, not sampled again
    config = yaml.safe_load((study_dir / "trial_001" / "config.yaml").read_text())
    assert config["model"]["hidden_size"] == killed[0].params["model.hidden_size"]  # trained with them
    assert config["optimizer"]["lr"] == pytest.approx(killed[0].params["optimizer.lr"])
    rows = {row["run"]: row for row in csv.DictReader((study_dir / "summary.csv").open())}
    assert rows["trial_000"]["state"] == "fail" and rows["trial_001"]["state"] == "complete"


@pytest.mark.slow  # over a minute on 2 cores; run with -m slow
def test_ddp_search_trains_each_trial_config_on_every_rank(tmp_path: Path, small_csv: Path) -> None:
    """Trials on trainer=ddp_cpu (their ranks spawned by the trial): every rank trains the trial's config, and
    pruning decided in rank zero of the worker processes reaches the study (a pruner that prunes everything)."""
    study_dir = tmp_path / "study"
    r = run_script(
        "tune",
        "hparams_search=sentiment",
        *_data(small_csv),
        *SEARCH_TINY,
        *SPACE,
        "n_trials=2",
        "trainer=ddp_cpu",
        "trainer.max_epochs=3",
        "trainer.limit_train_batches=2",
        "~hparams_search.pruner",
        "+hparams_search.pruner={_target_: optuna.pruners.ThresholdPruner, lower: 2.0}",
        f"hydra.run.dir={study_dir}",
        timeout=500,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    study = optuna.load_study(study_name="sentiment", storage=f"sqlite:///{study_dir / 'study.db'}")
    failures = [
        line
        for line in (r.stdout + r.stderr).splitlines()
        if "failed" in line or "Error" in line or "terminate" in line
    ]
    assert [t.state.name for t in study.trials] == ["PRUNED", "PRUNED"], "\n".join(failures)
    for t in study.trials:
        metrics = json.loads((study_dir / f"trial_{t.number:03d}" / "metrics.json").read_text())
        assert metrics["global_step"] == 2  # stopped after epoch 1 of 3 (counted in the workers)
        assert metrics["stopped_by"] == "pruned"
        ranks = json.loads((study_dir / f"trial_{t.number:03d}" / "ranks.json").read_text())
        assert ranks["world_size"] == 2
        for setup in ranks["setups"]:  # what each rank built and optimised, as it logged it
            assert setup["model"]["hidden_size"] == t.params["model.hidden_size"]
            assert setup["model"]["pooling"] == t.params["model.pooling"]
            assert setup["optimizer"]["lr"] == pytest.approx(t.params["optimizer.lr"])
    assert study.trials[0].params != study.trials[1].params


def test_a_failing_job_does_not_end_the_sweep_or_lose_its_summary(tmp_path: Path) -> None:
    """`-m data.window=8,1000` on a 300-step series: job 1 cannot be built. Job 0 still trains, the summary is
    written with job 1 as unfinished, job 1's error is one line, and the command exits 2 naming the failed job. With
    logger=mlflow the sweep's parent run ends FAILED naming the job (it ended FINISHED, as if every job had run)."""
    sweep, store = tmp_path / "sweep", f"sqlite:///{tmp_path / 'mlflow.db'}"
    r = run_script(
        "train",
        "-m",
        "task=forecast",
        "data.length=300",
        "data.window=8,1000",
        "model.hidden_size=8",
        "trainer.max_epochs=1",
        "logger=mlflow",
        f"logger.mlflow.tracking_uri={store}",
        f"hydra.sweep.dir={sweep}",
        timeout=400,
    )
    assert r.returncode == 2, r.stderr[-3000:]
    assert (sweep / "0" / "metrics.json").is_file() and not (sweep / "1" / "metrics.json").exists()
    rows = {row["run"]: row for row in csv.DictReader((sweep / "summary.csv").open())}
    assert set(rows) == {"0", "1"} and (rows["0"]["status"], rows["1"]["status"]) == ("finished", "failed"), rows
    failed = [line for line in r.stderr.splitlines() if "sweep job 1 (" in line]
    assert len(failed) == 1 and "data.window=1000" in failed[0] and "too few" in failed[0], r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]  # the failed job's folder (a review: "1", its row in the summary)
    assert last == f"error: 1 job(s) of the sweep failed: {sweep / '1'} (see above)", r.stderr[-2000:]
    import mlflow

    client = mlflow.MlflowClient(store)
    parent = client.get_run(json.loads((sweep / "mlflow_run.json").read_text())["run_id"])
    assert parent.info.status == "FAILED" and parent.data.tags["textgru.failed_jobs"] == "1"
    # a review: a job's resume rewrote the summary with the failed job "unfinished" (resume it: refused)
    resumed = run_script("train", f"resume={sweep / '0'}", "trainer.max_epochs=2", timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = {row["run"]: row["status"] for row in csv.DictReader((sweep / "summary.csv").open())}
    assert rows == {"0": "finished", "1": "failed"}, rows


def test_a_rewritten_summary_keeps_a_failed_job_failed_until_its_folder_changes(tmp_path: Path) -> None:
    """A review: a rewrite by another process (a job's resume) knew "failed" only from the sweep's own process, and
    called a failed job "unfinished". The summary.csv it replaces says so, for a folder nothing was written in since;
    a run there since is summarised by what it left."""
    from textgru.sweep_jobs import hydra_sweep_rows
    from textgru.sweep_summary import write_summary

    sweep = tmp_path / "sweep"
    for job, seed in (("0", 1), ("1", 2)):
        (sweep / job / ".hydra").mkdir(parents=True)
        (sweep / job / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n")
    (sweep / "0" / "metrics.json").write_text('{"val/macro_f1": 0.5}')
    write_summary(sweep, hydra_sweep_rows(sweep, failed=["1"]), "val/macro_f1", "max")
    statuses = lambda: {row["run"]: row["status"] for row in hydra_sweep_rows(sweep)}
    assert statuses() == {"0": "finished", "1": "failed"}
    later = (sweep / "summary.csv").stat().st_mtime + 5
    (sweep / "1" / "train.log").write_text("a run in the failed job's folder\n")
    os.utime(sweep / "1" / "train.log", (later, later))
    assert statuses() == {"0": "finished", "1": "unfinished"}


BUG = """
import lightning as L


class Bug(L.Callback):  # an error textgru does not foresee, raised inside training when `fail`
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def on_train_start(self, trainer, pl_module) -> None:
        if self.fail:
            raise RuntimeError("a bug in a callback")
"""


def test_an_unforeseen_error_fails_its_job_only_and_a_used_sweep_folder_is_refused(tmp_path: Path) -> None:
    """A job that raises an error textgru does not foresee (a bug) is one failed job, as a bad value is: the other job
    trains and the summary is written. A second sweep into that folder is refused before anything in it changes."""
    (tmp_path / "bug.py").write_text(BUG)
    sweep = tmp_path / "sweep"
    common = ["task=forecast", "data.length=300", "model.hidden_size=8", "trainer.max_epochs=1"]
    common += ["logger.tensorboard=false", "+callbacks.bug._target_=bug.Bug", f"hydra.sweep.dir={sweep}"]
    env = {"PYTHONPATH": str(tmp_path)}
    r = run_script("train", "-m", *common, "+callbacks.bug.fail=false,true", env=env, timeout=400)
    assert r.returncode == 2, r.stderr[-3000:]
    assert (sweep / "0" / "metrics.json").is_file() and not (sweep / "1" / "metrics.json").exists()
    assert any(
        "sweep job 1 (" in line and "RuntimeError: a bug in a callback" in line for line in r.stderr.splitlines()
    )
    assert r.stderr.strip().splitlines()[-1] == f"error: 1 job(s) of the sweep failed: {sweep / '1'} (see above)"
    before = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file()}
    assert sweep / "summary.csv" in before

    again = run_script("train", "-m", *common, "+callbacks.bug.fail=false", "seed=3", env=env)
    assert again.returncode == 2 and again.stderr.strip().splitlines() == [
        f"error: hydra.sweep.dir={sweep} already holds 0, 1, multirun.yaml ...; choose a new folder so that nothing "
        "in it is overwritten"
    ], again.stderr[-2000:]
    assert {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file()} == before
    # every job in one folder: the second refused, and the summary gave the first's run the second's overrides
    other = tmp_path / "other"
    same = run_script("train", "-m", *common[:-1], f"hydra.sweep.dir={other}", "seed=1,2", "hydra.sweep.subdir=one")
    assert same.returncode == 2 and same.stderr.strip().splitlines() == [
        "error: hydra.sweep.subdir=one gives several jobs of the sweep the same folder; leave it out (each job's "
        "number) or make it name the job, e.g. ${hydra.job.num}_${hydra.job.override_dirname}, or every swept key"
    ], same.stderr[-2000:]
    some = ["seed=1,2", "model.hidden_size=8,16", "hydra.sweep.subdir=${seed}"]  # a review: one of the swept keys
    same = run_script("train", "-m", *common[:-1], f"hydra.sweep.dir={other}", *some)
    assert same.returncode == 2 and "gives several jobs of the sweep the same folder" in same.stderr, same.stderr
    assert not other.exists()
    from textgru.sweep_summary import names_the_job  # a list or a quoted comma is one value, not a sweep (a review)

    assert names_the_job("seed${seed}", ["seed=1,2", "model.cutoffs=[100,200]", "data.path='a,b.csv'"])
    assert names_the_job("${hydra:job.num}", ["seed=1,2"]) and not names_the_job("${seed}", ["seed=1,2", "x=3,4"])
    assert not other.exists()
    named = run_script(
        "train",
        "-m",
        *common[:-1],
        f"hydra.sweep.dir={other}",
        "seed=1,2",
        "hydra.sweep.subdir=${seed}",
        "+callbacks.bug.fail=false",
        env=env,
    )
    assert named.returncode == 0 and sorted(p.name for p in other.iterdir() if p.is_dir()) == ["1", "2"], named.stderr
    same = run_script(
        "train", "-m", *common[:-1], f"hydra.sweep.dir={tmp_path}/x", "seed=1,2", "hydra.sweep.subdir=${hydra.job.name}"
    )
    assert same.returncode == 2 and "gives several jobs of the sweep the same folder" in same.stderr, same.stderr[
        -2000:
    ]
    # a failed job in a folder of another name is listed as failed, and named so (a review: "unfinished", "1"); job
    # folders a level down are summarised too (a review: no summary at all)
    failing = tmp_path / "failing"
    folders = ["+callbacks.bug.fail=false,true", "hydra.sweep.subdir=job${hydra.job.num}/run"]
    r = run_script("train", "-m", *common[:-1], f"hydra.sweep.dir={failing}", *folders, env=env)
    last = r.stderr.strip().splitlines()[-1]
    assert last == f"error: 1 job(s) of the sweep failed: {failing / 'job1' / 'run'} (see above)", r.stderr[-2000:]
    rows = {row["run"]: row["status"] for row in csv.DictReader((failing / "summary.csv").open())}
    assert rows == {"job0/run": "finished", "job1/run": "failed"}, rows


STOP = """
import lightning as L


class Stop(L.Callback):  # what Ctrl+C raises inside training, in epoch `at` (from 1: after a checkpoint)
    def __init__(self, at: int = 1) -> None:
        self.at = at

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.current_epoch == self.at:
            raise KeyboardInterrupt


class StopBuildingTheSecond(L.Callback):  # Ctrl+C outside training: while the second trial is being set up
    made = 0

    def __init__(self) -> None:
        type(self).made += 1
        if type(self).made == 2:
            raise KeyboardInterrupt
"""


def test_ctrl_c_stops_the_whole_sweep_or_search_with_exit_130(tmp_path: Path) -> None:
    """Ctrl+C (or SIGTERM) in a `-m` sweep failed its current job only, and the sweep went on with the next one; now
    the sweep stops (job 2 never starts), exit code 130, with the stopped job's resume command and the summary."""
    (tmp_path / "stop.py").write_text(STOP)
    sweep, study = tmp_path / "sweep", tmp_path / "study"
    common = ("task=forecast", "data.length=300", "trainer.max_epochs=3", "logger.tensorboard=false")
    common += ("+callbacks.stop._target_=stop.Stop",)
    r, searched = run_scripts(
        ("train", "-m", *common, "+callbacks.stop.at=9,1,9", f"hydra.sweep.dir={sweep}"),  # 0 ends, 1 stops
        ("tune", "hparams_search=lm", *common, "n_trials=2", "~hparams_search.params",
         "+hparams_search.params={model.hidden_size: 'choice(8, 16)'}", f"hydra.run.dir={study}"),
        env={"PYTHONPATH": str(tmp_path)}, timeout=400,
    )  # fmt: skip
    assert r.returncode == 130, r.stderr[-3000:]
    last, _, first = r.stderr.strip().splitlines()[-1].partition("; run the first: ")
    assert last == (
        f"error: training was stopped before it finished; continue from its last checkpoint: textgru train "
        f"resume={sweep / '1'}; 1 more job(s) of the sweep never started (summary.md lists them)"
    ), r.stderr[-2000:]
    command = shlex.split(first)  # a review: no way to run it (the sweep again is refused), nor its summary row
    assert command[:2] == ["textgru", "train"] and command[-1] == f"hydra.run.dir={sweep / '2'}", first
    assert (sweep / "1" / "checkpoints" / "last.ckpt").is_file() and not (sweep / "2").exists()
    summary = (sweep / "summary.md").read_text()  # what it ran is summarised (was left without)
    assert "| 0 | 9 | finished |" in summary and "| 1 | 1 | unfinished |" in summary, summary
    assert "| - | 9 | not started |" in summary, summary  # a review: the job never started was not in it
    by_hand = run_script(*command[1:], env={"PYTHONPATH": str(tmp_path)}, timeout=400)
    assert by_hand.returncode == 0, by_hand.stderr[-2000:]
    summary = (sweep / "summary.md").read_text()  # rewritten when it ended
    assert "| 2 | 9 | finished |" in summary and "not started" not in summary, summary
    last = searched.stderr.splitlines()[-1]  # a search too: it went on with its next trial
    assert searched.returncode == 130 and last == (
        "error: the search was stopped in trial 0 (Ctrl+C or SIGTERM); the same textgru tune command goes on with it"
    ), searched.stderr[-3000:]
    assert (study / "trial_000").is_dir() and not (study / "trial_001").exists()
    summary = (study / "summary.md").read_text()  # the search's trials so far too (it wrote none when stopped)
    assert "| trial_000 | stopped |" in summary and "no trial completed" in searched.stdout, summary


def test_a_stopped_sweeps_line_runs_its_next_job_in_the_folder_its_subdir_gives_or_a_free_one(tmp_path: Path) -> None:
    """A review: the line for the job a stopped sweep never started named `<sweep>/<number>` whatever its
    hydra.sweep.subdir (with `${seed}`, the stopped job's folder, refused as holding a run). Now the subdir as Hydra
    resolves it for that job (here `s9`, job 0's: so `s9-1`, said), and the run there is the sweep's job."""
    (tmp_path / "stop.py").write_text(STOP)
    paths = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]  # the textgru under test, where one is set
    sweep, env = tmp_path / "sweep", {"PYTHONPATH": os.pathsep.join(paths)}
    common = ("task=forecast", "data.length=300", "trainer.max_epochs=3", "logger.tensorboard=false")
    subdir = "hydra.sweep.subdir=s${callbacks.stop.at}"
    r = run_script(
        "train", "-m", *common, "+callbacks.stop._target_=stop.Stop", "+callbacks.stop.at=9,1,9", subdir,
        f"hydra.sweep.dir={sweep}", env=env, timeout=400,
    )  # fmt: skip
    assert r.returncode == 130 and sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["s1", "s9"], r.stderr
    taken, _, first = r.stderr.strip().splitlines()[-1].partition("; run the first")
    assert first.startswith(f" (the folder the sweep would give it, {sweep / 's9'}, is taken: in a free one): ")
    command = shlex.split(first.partition("): ")[2])
    assert command[-2:] == ["hydra.job.num=2", f"hydra.run.dir={sweep / 's9-1'}"], first
    by_hand = run_script(*command[1:], env=env, timeout=400)
    assert by_hand.returncode == 0, by_hand.stderr[-2000:]
    rows = {row["run"]: row["status"] for row in csv.DictReader((sweep / "summary.csv").open())}
    assert rows == {"s9": "finished", "s1": "unfinished", "s9-1": "finished"}, rows  # rewritten: its row


def test_a_search_stopped_between_trials_writes_its_summary_so_far(tmp_path: Path) -> None:
    """Ctrl+C or SIGTERM outside a trial's training (its data loading, between trials) ended the search without the
    summary a stop inside training writes (a review)."""
    (tmp_path / "stop.py").write_text(STOP)
    study = tmp_path / "study"
    r = run_script(
        "tune", "hparams_search=lm", "task=forecast", "data.length=300", "trainer.max_epochs=1",
        "logger.tensorboard=false", "+callbacks.stop._target_=stop.StopBuildingTheSecond", "n_trials=3",
        "~hparams_search.params", "+hparams_search.params={model.hidden_size: 'choice(8, 16)'}",
        f"hydra.run.dir={study}", env={"PYTHONPATH": str(tmp_path)}, timeout=300,
    )  # fmt: skip
    assert r.returncode == 130, r.stderr[-3000:]
    summary = (study / "summary.md").read_text()
    assert "| trial_000 | complete |" in summary and "| trial_001 | stopped |" in summary, summary
    assert "best trial 0:" in r.stdout


def test_summary_table_keeps_whole_numbers_whole_beside_a_failed_run(tmp_path: Path) -> None:
    """A failed run's blanks made pandas store an integer setting as floats: `60.0000` in the table."""
    from textgru.sweep_summary import write_summary

    rows = [
        {"run": "0", "status": "finished", "model.hidden_size": 60, "val/macro_f1": 0.5, "epochs": 3, "global_step": 45}
        | {"stopped_by": "max_epochs"},
        {"run": "1", "status": "unfinished", "model.hidden_size": 240},  # failed: no metrics
    ]
    table = write_summary(tmp_path, rows, "val/macro_f1", "max")
    assert "| 0 | finished | 60 | 0.5000 | 3 | 45 | max_epochs |" in table, table
    assert "| 1 | unfinished | 240 |  |  |  |  |" in table, table
    assert "Same in every run" not in table  # stopped_by is a column of results, not a setting
    assert [(r["epochs"], r["global_step"]) for r in csv.DictReader(open(tmp_path / "summary.csv"))] == [
        ("3", "45"), ("", "")
    ]  # fmt: skip  # the CSV too (a review: 3.0 and 45.0)
    lrs = [{**row, "optimizer.lr": lr} for row, lr in zip(rows, (1e29, 1.55e29), strict=True)]
    table = write_summary(tmp_path, lrs, "val/macro_f1", "max")
    assert "| 1.55e+29 |" in table  # not its 30 digits (a review), though a whole number
    # a study: a pruned trial's best-so-far (its run wrote metrics.json) headed the table the best trial did not
    trials = [
        {"run": "trial_000", "state": "complete", "val/macro_f1": 0.6},
        {"run": "trial_001", "state": "pruned", "val/macro_f1": 0.7},
        {"run": "trial_002", "state": "complete", "val/macro_f1": 0.65},
    ]
    write_summary(tmp_path, trials, "val/macro_f1", "max")
    assert [r["run"] for r in csv.DictReader(open(tmp_path / "summary.csv"))] == ["trial_002", "trial_000", "trial_001"]
    # a searched parameter keeps its column where every trial drew the same value (a review: no way to tell which
    # parameters gave the metrics); a setting of every run is said once
    trials = [{**t, "model.hidden_size": 8, "seed": 1} for t in trials]
    table = write_summary(tmp_path, trials, "val/macro_f1", "max", always=["model.hidden_size"])
    assert next(csv.DictReader(open(tmp_path / "summary.csv")))["model.hidden_size"] == "8"
    assert "| run | state | model.hidden_size |" in table and "Same in every run: `seed=1`" in table, table


@pytest.mark.parametrize(
    "spec,message",
    [
        ("interval(0.5, 0.1)", "the interval's low end is above its high end"),
        ("range(5, 1)", "the range holds no value"),
        ("range(1, 5, -1)", "the range holds no value"),
        ("range(0.1, 0.5, 0)", "the range holds no value"),  # step 0 was read as 1
        ("range(1e-3, 1e-2)", "the range steps by 1, so it holds only 0.001; give a step that fits"),
        ("tag(logarithmic, interval(1e-4, 1e-2))", "unknown tag ['logarithmic']; the one tag read is log"),
        ("tag(log, range(4, 16, 4))", "a range steps evenly, so log cannot apply"),  # the tag was dropped silently
        ("tag(log, choice(8, 16))", "a choice picks among its values, so a tag cannot apply; drop tag(...)"),
        ("tag(log, interval(0, 0.3))", "a log scale starts above 0; give a low end > 0"),  # Optuna's ValueError
        ("tag(log, int(interval(-2, 8)))", "a log scale starts above 0"),
    ],
)
def test_a_search_space_optuna_would_refuse_mid_trial_is_one_line(spec: str, message: str) -> None:
    """They were Optuna's traceback inside the first trial, which stayed RUNNING in study.db (a misspelt tag searched
    on a linear scale)."""
    from textgru.errors import TextgruError
    from textgru.search_space import parse_search_space

    with pytest.raises(TextgruError, match=re.escape(f"hparams_search.params.model.dropout={spec}: {message}")):
        parse_search_space({"model.dropout": spec})
    assert parse_search_space({"model.dropout": "interval(0.1, 0.5)", "x": "range(1, 5)"})["x"].stop == 5
    for key in ("paths.run_dir", "hparams_search.n_trials", "hydra.job.name", "optimized_metric"):  # a review: taken
        with pytest.raises(TextgruError, match=re.escape(f"hparams_search.params.{key}: a search cannot vary {key}")):
            parse_search_space({key: "choice(a, b)"})


def test_a_search_takes_a_sweep_folder_as_its_study_folder() -> None:
    """`train -m hparams_search=... hydra.sweep.dir=X` ignored X (tests/test_bad_input.py runs it); the folder's
    mistakes are one line each, naming the setting given."""
    from textgru.errors import TextgruError
    from textgru.study_folder import study_folder_args

    search = "hparams_search=sentiment"
    given = [search, "n_trials=2", "+hydra.sweep.dir='my dir'"]
    assert study_folder_args(given) == [search, "n_trials=2", "hydra.run.dir='my dir'"]
    assert study_folder_args([search, "hydra.run.dir=x"]) == [search, "hydra.run.dir=x"]
    for args, message in (
        (["hydra.sweep.dir=x", "hydra.run.dir=y"], "give hydra.run.dir= or hydra.sweep.dir=, not both"),
        (["hydra.sweep.dir="], "hydra.sweep.dir= is not a path; give the study's folder"),  # it named hydra.run.dir
        (["hydra.sweep.dir=x", "hydra.sweep.subdir=s"], "hydra.sweep.subdir does not apply to a search"),  # ignored
    ):
        with pytest.raises(TextgruError, match=re.escape(message)):
            study_folder_args([search, *args])


def test_a_trial_that_finished_before_its_search_was_stopped_is_recorded_not_run_again(tmp_path: Path) -> None:
    """A review: Ctrl+C just after a trial wrote its metrics.json (before the study heard of it) failed the trial and
    trained its parameters again (an hour, for an hour-long trial), and the summary showed a 'fail' row with
    metrics. The next call records it complete with its value (pruned, if it was); an unfinished one is failed and
    queued again, as before."""
    from textgru.interrupted_trials import PRUNED_AT, settle_interrupted_trials

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}", direction="maximize")
    finished, unfinished, pruned = (study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}) for _ in range(3))
    pruned.set_user_attr(PRUNED_AT, 3)
    for trial, value in ((finished, 0.75), (pruned, 0.25)):
        (tmp_path / f"trial_{trial.number:03d}").mkdir()
        (tmp_path / f"trial_{trial.number:03d}" / "metrics.json").write_text(json.dumps({"val/macro_f1": value}))
    (tmp_path / f"trial_{unfinished.number:03d}").mkdir()  # a run that did not finish: no metrics.json
    settled = settle_interrupted_trials(study, tmp_path, "val/macro_f1")
    assert settled == [(0, "COMPLETE"), (1, "FAIL"), (2, "PRUNED")]
    assert study.trials[0].value == 0.75 and study.best_trial.number == 0
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [unfinished.params]  # only it runs again


def test_the_best_experiment_of_a_searched_config_group_trains_that_group(tmp_path: Path) -> None:
    """A review: `optimizer: choice(adam, adamw)` was written as the value `optimizer: adamw`, and the experiment then
    failed to build its optimizer. A group is a defaults entry, and both commands of the header compose the trial."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    from textgru.best_experiment import write_best_experiment

    study = optuna.create_study(direction="maximize")
    params = {"optimizer": "adamw", "optimizer.lr": 0.003, "model.pooling": "max"}
    space = {
        "optimizer": CategoricalDistribution(["adam", "adamw"]),
        "optimizer.lr": FloatDistribution(1e-4, 1e-2, log=True),
        "model.pooling": CategoricalDistribution(["mean", "max"]),
    }
    study.add_trial(optuna.trial.create_trial(params=params, distributions=space, value=0.5))
    path = tmp_path / "conf" / "experiment" / "best.yaml"
    path.parent.mkdir(parents=True)
    write_best_experiment(study, path, "sentiment", "val/macro_f1", {}, ["model.hidden_size=8"])
    text = path.read_text()
    assert yaml.safe_load(text)["defaults"] == [{"override /task": "sentiment"}, {"override /optimizer": "adamw"}]
    again = next(x for x in text.splitlines() if x.startswith("# Train it again: ")).split("textgru train ", 1)[1]
    assert again == "model.hidden_size=8 optimizer=adamw optimizer.lr=0.003 model.pooling=max"
    for args in (shlex.split(again), ["experiment=best", "model.hidden_size=8"]):
        r = run_script("train", *args, "--cfg", "job", cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        composed = yaml.safe_load(r.stdout)
        assert composed["optimizer"]["_target_"] == "torch.optim.AdamW", args
        assert composed["optimizer"]["lr"] == 0.003 and composed["model"]["pooling"] == "max"
        assert composed["model"]["hidden_size"] == 8


def test_the_best_experiment_holds_what_every_trial_used_beside_its_parameters(tmp_path: Path) -> None:
    """A review: `hparams_search=lm`'s "Train it again" had no task=lm (it trained a sentiment classifier); a fixed
    value of the space (`optimizer.weight_decay: "0.3"`) was used by every trial, but left out of the file, its
    command and the summary; and the summary showed a learning rate of 1.23e-05 as 0.0000."""
    from hydra import initialize_config_module
    from omegaconf import OmegaConf
    from optuna.distributions import FloatDistribution

    from textgru.config import CONF_MODULE, compose_config
    from textgru.search_space import UNCOMPARED, compose_trial, flat_config
    from textgru.sweep_summary import summarise_study

    space = "{optimizer.lr: 'tag(log, interval(1e-5, 3e-5))', optimizer.weight_decay: '0.3'}"
    base = ["model.hidden_size=16", "trainer.max_steps=5"]
    given = ["hparams_search=lm", *base, "~hparams_search.params", f"+hparams_search.params={space}"]
    study = optuna.create_study(direction="minimize")
    lr = {"optimizer.lr": FloatDistribution(1e-5, 3e-5, log=True)}
    study.add_trial(optuna.trial.create_trial(params={"optimizer.lr": 1.234e-05}, distributions=lr, value=4.3))
    (tmp_path / "trial_000").mkdir()
    (tmp_path / "trial_000" / "metrics.json").write_text(json.dumps({"val/loss": 4.3}))
    with initialize_config_module(CONF_MODULE, version_base="1.3"):  # as in the tune command's Hydra app
        cfg = compose_config("train", given)
        text = summarise_study(study, tmp_path, cfg, base)
        trial = compose_trial("train", [*given, "optimizer.weight_decay=0.3", "optimizer.lr=1.234e-05"])  # as tuned
    assert "| trial_000 | complete | 1.234e-05 | 4.3000 |" in text, text
    assert "Same in every run: `task=lm`, `optimizer.weight_decay=0.3`" in text, text
    best = (tmp_path / "best_experiment.yaml").read_text()
    assert yaml.safe_load(best)["optimizer"] == {"weight_decay": 0.3, "lr": 1.234e-05}
    again = next(x for x in best.splitlines() if x.startswith("# Train it again: ")).split("textgru train ", 1)[1]
    assert again == "model.hidden_size=16 trainer.max_steps=5 task=lm optimizer.weight_decay=0.3 optimizer.lr=1.234e-05"
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    shutil.copy(tmp_path / "best_experiment.yaml", tmp_path / "conf" / "experiment" / "best.yaml")
    wanted = {k: v for k, v in flat_config(OmegaConf.to_container(trial)).items() if not k.startswith(UNCOMPARED)}
    for args in (shlex.split(again), ["experiment=best", *base]):  # both compose the trial's config
        r = run_script("train", *args, "--cfg", "job", cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        composed = {k: v for k, v in flat_config(yaml.safe_load(r.stdout)).items() if not k.startswith(UNCOMPARED)}
        assert composed == wanted, (
            args,
            [k for k in composed.keys() | wanted.keys() if composed.get(k) != wanted.get(k)],
        )


def test_a_null_pruner_prunes_nothing() -> None:
    """A review: `hparams_search.pruner=null` reached Optuna as "none given", and Optuna then used its median pruner."""
    from omegaconf import OmegaConf

    from textgru.tuning import study_pruner

    assert isinstance(study_pruner(None), optuna.pruners.NopPruner)
    median = OmegaConf.create({"_target_": "optuna.pruners.MedianPruner", "n_warmup_steps": 1})
    assert isinstance(study_pruner(median), optuna.pruners.MedianPruner)


def test_a_trial_pruned_within_its_first_epoch_stops_there(tmp_path: Path) -> None:
    """A review: a trial pruned after its first validation within epoch one trained on to its end (the default
    trainer.min_epochs=1 held Lightning's stop back), yet the study ranked it as pruned."""
    import lightning as L
    import torch

    from textgru.stopping import stop_reason
    from textgru.tuning import PruneOnValidation

    class Always(optuna.pruners.BasePruner):
        def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
            return True

    class Toy(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Linear(1, 1)

        def training_step(self, batch: list[torch.Tensor], i: int) -> torch.Tensor:
            return self.w(batch[0]).pow(2).mean()

        def validation_step(self, batch: list[torch.Tensor], i: int) -> None:
            self.log("val/loss", self.w(batch[0]).pow(2).mean())

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(10, 1)), batch_size=1)
    trial = optuna.create_study(pruner=Always()).ask()
    trainer = L.Trainer(
        min_epochs=1,
        max_epochs=1,
        val_check_interval=2,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        callbacks=[PruneOnValidation(trial, "val/loss", "sqlite://")],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(Toy(), loader, loader)
    assert trainer.global_step == 2, trainer.global_step  # pruned after validation 0, at step 2 of 10
    assert stop_reason(trainer) == "pruned"  # a review: "max_epochs", the epoch it cut short counted as done


def test_a_search_of_another_task_with_that_tasks_own_keys_writes_its_summary(tmp_path: Path) -> None:
    """A review: `hparams_search=lm ... task.samples=0` trained every trial, then failed with "no config key
    task.samples" and wrote no summary: the summary composed the other overrides on the default (sentiment) task."""
    from hydra import initialize_config_module

    from textgru.config import CONF_MODULE, compose_config
    from textgru.sweep_summary import summarise_study

    base = ["model.hidden_size=16", "task.samples=0"]
    study = optuna.create_study(direction="minimize")
    size = {"model.embedding_dim": optuna.distributions.CategoricalDistribution([8, 16])}
    study.add_trial(optuna.trial.create_trial(params={"model.embedding_dim": 8}, distributions=size, value=4.3))
    (tmp_path / "trial_000").mkdir()
    (tmp_path / "trial_000" / "metrics.json").write_text(json.dumps({"val/loss": 4.3}))
    with initialize_config_module(CONF_MODULE, version_base="1.3"):
        cfg = compose_config("train", ["hparams_search=lm", *base])
        text = summarise_study(study, tmp_path, cfg, base)
    assert "| trial_000 | complete |" in text, text
    best = (tmp_path / "best_experiment.yaml").read_text()
    again = next(x for x in best.splitlines() if x.startswith("# Train it again: ")).split("textgru train ", 1)[1]
    assert again == "model.hidden_size=16 task.samples=0 task=lm model.embedding_dim=8", again


def test_a_study_stored_before_its_fixed_values_were_compared_is_compared_as_stored() -> None:
    """A review: a study made before the space's fixed values were compared stored its settings without them, so
    resuming it with the same command was refused ("0.01 then, 0.3 now"), and so was the fix the line gave."""
    from textgru.search_space import FIXED_ATTR, SETTINGS_ATTR, compared_overrides, parse_search_space

    space = parse_search_space({"optimizer.lr": "interval(1e-3, 1e-2)", "optimizer.weight_decay": "0.3"})
    new = optuna.create_study()
    assert compared_overrides(new, ["seed=1"], space) == ["seed=1", "optimizer.weight_decay=0.3"]
    assert new.user_attrs[FIXED_ATTR] is True
    old = optuna.create_study()
    old.set_user_attr(SETTINGS_ATTR, {"seed": "1"})  # stored by an earlier textgru: without the fixed values
    assert compared_overrides(old, ["seed=1"], space) == ["seed=1"] and FIXED_ATTR not in old.user_attrs


@pytest.mark.parametrize("name", ["tune é", "it's", "a,b#c=d", "back\\slash", "a${b}"])
def test_a_trial_of_a_study_folder_with_any_name_composes_its_run_folder(tmp_path: Path, name: str) -> None:
    """A review: a study folder whose path held a non-ASCII letter or a `'` failed every trial with "search space:
    LexerNoViableAltException: paths.run_dir=..." (the trial's folder was an unquoted override)."""
    from hydra import initialize_config_module

    from textgru.config import CONF_MODULE
    from textgru.search_space import compose_trial, run_dir_override

    run_dir = tmp_path / name / "trial_000"
    with initialize_config_module(CONF_MODULE, version_base="1.3"):
        cfg = compose_trial("train", ["hparams_search=sentiment", run_dir_override(run_dir)])
    assert cfg.paths.run_dir == str(run_dir)


def test_command_line_overrides_keep_an_escaped_dollar(tmp_path: Path) -> None:
    # a review: tune with data.path='a\${x}.csv' crashed, the overrides read resolved (backslash lost)
    from hydra.core.hydra_config import HydraConfig

    from textgru.command_line_checks import command_line_overrides
    from textgru.config import compose_config

    typed = ["data=local", "data.path=a\\${x}.csv", f"hydra.run.dir={tmp_path / 'run'}"]
    cfg = compose_config("train", typed, return_hydra_config=True)
    before = HydraConfig.instance().cfg
    try:
        HydraConfig.instance().set_config(cfg)
        assert "data.path=a\\${x}.csv" in command_line_overrides()
    finally:
        HydraConfig.instance().cfg = before


def test_the_summary_shows_values_as_given_not_with_hydras_escapes(tmp_path: Path) -> None:
    """A review: "Same in every run" showed `logger.mlflow.tracking_uri=sqlite\\:///t3/ml.db`, as Hydra writes a
    job's overrides."""
    from textgru.sweep_jobs import hydra_sweep_rows

    for job, seed in ((0, 1), (1, 2)):
        (tmp_path / str(job) / ".hydra").mkdir(parents=True)
        lines = [f"seed={seed}", "logger.mlflow.tracking_uri=sqlite\\:///t3/ml.db", "data.path=my\\ file\\,2.csv"]
        (tmp_path / str(job) / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(lines))
    rows = hydra_sweep_rows(tmp_path)
    assert [r["logger.mlflow.tracking_uri"] for r in rows] == ["sqlite:///t3/ml.db"] * 2
    assert rows[0]["data.path"] == "my file,2.csv" and [r["seed"] for r in rows] == ["1", "2"]


def test_a_study_whose_trials_all_failed_takes_the_settings_given_now(tmp_path: Path) -> None:
    """A review: a study whose every trial failed on a setting (trainer.devices=3 on 2 cores) refused the call that
    fixed it, as "run with other settings"; with a trial scored, other settings are still refused."""
    import optuna
    from omegaconf import OmegaConf

    from textgru.errors import TextgruError
    from textgru.search_space import check_same_settings

    study = optuna.create_study(direction="maximize")
    check_same_settings(study, OmegaConf.create({"trainer": {"devices": 3}}), tmp_path)
    stopped = study.ask()  # a trial a stop left RUNNING may have finished (the review of this): its settings stay
    with pytest.raises(TextgruError, match=r"run with other settings \(trainer.devices: 3 then, 2 now\)"):
        check_same_settings(study, OmegaConf.create({"trainer": {"devices": 2}}), tmp_path)
    study.tell(stopped, state=optuna.trial.TrialState.FAIL)
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    check_same_settings(study, OmegaConf.create({"trainer": {"devices": 2}}), tmp_path)  # nothing scored to keep
    study.tell(study.ask(), 0.5)
    with pytest.raises(TextgruError, match=r"run with other settings \(trainer.devices: 2 then, 1 now\)"):
        check_same_settings(study, OmegaConf.create({"trainer": {"devices": 1}}), tmp_path)


def test_a_study_folder_named_with_a_question_mark_or_percent_keeps_its_study_inside(tmp_path: Path) -> None:
    """A review: SQLAlchemy read a folder `q?mode=ro` as `q` and options (study.db written outside it), and `p%20x`
    as `p x`; the storage URL quotes the path."""
    import optuna

    from textgru.study_folder import study_storage
    from textgru.sweep_summary import stored_study

    for name in ("q?mode=ro", "p%20x", "h#1 a"):
        folder = tmp_path / name
        folder.mkdir()
        study = optuna.create_study(study_name="s", storage=study_storage(folder))
        study.tell(study.ask(), 1.0)
        assert [p.name for p in folder.iterdir()] == ["study.db"]
        assert len(stored_study(folder, "s").trials) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h#1 a", "p%20x", "q?mode=ro"]


def test_a_resumed_trial_is_summarised_by_the_metrics_its_study_scored(tmp_path: Path) -> None:
    """A review: after `resume=<study>/trial_000` the study kept the trial's score, while its summary showed the
    resumed run's metrics.json (its epochs, steps and scores) beside it."""
    from hydra import initialize_config_module

    from textgru.config import CONF_MODULE, compose_config
    from textgru.sweep_summary import summarise_study

    study = optuna.create_study(direction="minimize")
    size = {"model.embedding_dim": optuna.distributions.CategoricalDistribution([8, 16])}
    study.add_trial(optuna.trial.create_trial(params={"model.embedding_dim": 8}, distributions=size, value=4.3))
    trial = tmp_path / "trial_000"
    trial.mkdir()
    (trial / "metrics.before-resume-at-step-15.json").write_text(json.dumps({"val/loss": 4.3, "global_step": 15}))
    (trial / "metrics.before-resume-at-step-30.json").write_text(json.dumps({"val/loss": 3.9, "global_step": 30}))
    (trial / "metrics.json").write_text(json.dumps({"val/loss": 3.1, "global_step": 60}))  # resumed twice
    with initialize_config_module(CONF_MODULE, version_base="1.3"):
        cfg = compose_config("train", ["hparams_search=lm", "task=lm"])
        summarise_study(study, tmp_path, cfg, [])
    row = next(csv.DictReader(open(tmp_path / "summary.csv")))
    assert (row["val/loss"], row["global_step"]) == ("4.3", "15"), row


def test_a_stopped_python_sweep_names_its_next_job_and_the_jobs_run_then_rewrite_its_summary(
    small_csv: Path, tmp_path: Path
) -> None:
    """A review: `textgru.sweep()` stopped named only the job to resume, and its folder was not known as a sweep's
    (no multirun.yaml): the job resumed to its end, and one never started run by hand, left the summary's rows
    "unfinished" and "not started" (a `-m` sweep's are rewritten). Its stop names the next job's call too."""
    from conftest import tiny_run_args

    import textgru
    from textgru.errors import TrainingStopped
    from textgru.sweep_jobs import sweep_of

    stop = ["+callbacks.stop._target_=conftest.StopOnceAtSeed", "+callbacks.stop.seed=2"]
    args = [*tiny_run_args(small_csv), "trainer.max_epochs=2", *stop, f"+callbacks.stop.marker={tmp_path / 'stopped'}"]
    folder = tmp_path / "sweep"
    with pytest.raises(TrainingStopped) as e:
        textgru.sweep([*args, "seed=1,2,3"], sweep_dir=folder)
    said = str(e.value)
    assert said.startswith("training was stopped before it finished; continue from its last checkpoint: ") or said
    assert f"textgru.train(['resume={folder / '1'}'])" in said, said
    nxt = said.partition("; 1 more job(s) never started; run the next: ")[2]
    assert nxt.startswith("textgru.train([") and nxt.endswith(f"'seed=3'], run_dir={str(folder / '2')!r})"), said
    summary = lambda: (folder / "summary.md").read_text()
    assert "| 1 | 2 | unfinished |" in summary() and "| - | 3 | not started |" in summary(), summary()
    assert sweep_of(folder / "1") == folder  # what a resume of the job rewrites the summary by (a resumed run may not
    # use this test's callback: a class no textgru config names)
    eval(nxt, {"textgru": textgru})  # the call as printed
    assert "| 2 | 3 | finished |" in summary() and "not started" not in summary(), summary()
