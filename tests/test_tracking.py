"""Experiment tracking in a real MLflow store (SQLite in a temporary folder, one per session; each test its own
experiment): a run's params, metrics, tags and artifacts; a -m sweep, textgru.sweep() and an Optuna search as
parent and child runs; resume continues the same run without duplicated steps; a ddp_cpu run is one run; a bad
tracking URI is one line before any training.

In the default suite: one run (11-14 s), kill and resume (15-20 s), the 2x2 -m sweep with the README snippet
(15-20 s), a stopped -m sweep finished by hand (35-55 s), textgru.sweep() (4 s), the URI checks and the logger.
Marked slow (`-m slow`): the ddp_cpu run (14 s), the 3-trial search (12 s)."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

mlflow = pytest.importorskip("mlflow")

from conftest import ROOT, TINY_MODEL, run_script  # noqa: E402

from textgru.errors import TextgruError  # noqa: E402

CONFIGS_AFTER_RESUME = ("config.yaml", "config.before-resume-at-step-20.yaml")  # the resumed run's, the killed one's
DATA = ["data.text_column=review", "data.label_column=sentiment", "model.pretrained_embeddings=null"]


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite store for the session (creating its tables takes seconds); tests keep apart by experiment."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _args(store: str, experiment: str, small_csv: Path, *more: str) -> list[str]:
    return [
        "task=sentiment",
        "data=local",
        f"data.path={small_csv}",
        *DATA,
        *TINY_MODEL,
        "logger=mlflow",
        f"logger.mlflow.tracking_uri={store}",
        f"logger.mlflow.experiment_name={experiment}",
        *more,
    ]


def _numbers(metrics: dict[str, Any]) -> dict[str, Any]:
    """metrics.json's numbers (the run's MLflow metrics; `stopped_by` is its tag textgru.stopped_by)."""
    return {k: v for k, v in metrics.items() if k != "stopped_by"}


def _runs(store: str, experiment: str) -> list[Any]:
    client = mlflow.MlflowClient(store)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment}"
    return client.search_runs([exp.experiment_id], max_results=1000)


def _flatten(node: Any, prefix: str = "") -> dict[str, str]:
    """The config as the params should hold it, written independently of textgru.tracking."""
    if isinstance(node, dict) and node:
        out: dict[str, str] = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: node if isinstance(node, str) else json.dumps(node)}


def _csv_steps(run_dir: Path) -> dict[str, list[int]]:
    """metric -> the distinct steps at which logs/metrics.csv holds a value for it."""
    steps: dict[str, set[int]] = defaultdict(set)
    with open(run_dir / "logs" / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key != "step" and value not in ("", None):
                    steps[key].add(int(row["step"]))
    return {k: sorted(v) for k, v in steps.items()}


def _csv_values(run_dir: Path, key: str, name: str = "") -> dict[int, float]:
    with open(run_dir / name if name else run_dir / "logs" / "metrics.csv", newline="") as f:
        return {int(r["step"]): float(r[key]) for r in csv.DictReader(f) if r.get(key)}


def _history(store: str, run_id: str) -> dict[str, list[tuple[int, float]]]:
    client = mlflow.MlflowClient(store)
    return {
        key: sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))
        for key in client.get_run(run_id).data.metrics
    }


def _check_history_equals_csv(store: str, run_id: str, run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every metric's stored steps: the CSV's (per-step and per-epoch), each once, then the final values."""
    history = _history(store, run_id)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key, points in history.items():
        steps = [s for s, _ in points]
        assert len(steps) == len(set(steps)), f"{key}: a step stored twice: {steps}"
        assert steps == _csv_steps(run_dir).get(key, [metrics["global_step"]]), key
    return history


def test_a_run_holds_the_config_the_metrics_the_tags_and_the_artifacts(small_csv: Path, tmp_path: Path) -> None:
    run_dir, store = tmp_path / "run", f"sqlite:///{tmp_path / 'mlflow.db'}"  # a new store: MLflow makes its tables
    r = run_script(
        "train", *_args(store, "single", small_csv, f"hydra.run.dir={run_dir}", "trainer.log_every_n_steps=5")
    )
    assert r.returncode == 0, r.stderr[-3000:]
    # MLflow's notices (making the store's tables) in train.log only, as other libraries' (they reached the console)
    assert "Creating initial MLflow database tables" in (run_dir / "train.log").read_text()
    assert "database tables" not in r.stderr and "mlflow.store" not in r.stderr, r.stderr[-1500:]
    runs = _runs(store, "single")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert json.loads((run_dir / "mlflow_run.json").read_text())["run_id"] == run.info.run_id
    # params: the resolved config of the run folder, every key, nothing else
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert run.data.params == _flatten(config)
    assert run.data.params["model.hidden_size"] == "16" and run.data.params["logger.mlflow.tracking_uri"] == store
    # final metrics: metrics.json's values, exactly
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {k: run.data.metrics[k] for k in _numbers(metrics)} == pytest.approx(_numbers(metrics), rel=1e-12)
    assert run.data.tags["textgru.stopped_by"] == metrics["stopped_by"] == "max_epochs"
    # per-step and per-epoch history: the CSV log's steps, with Lightning's global step
    history = _check_history_equals_csv(store, run.info.run_id, run_dir)
    assert len(history["train/loss_step"]) == 9 and len(history["val/macro_f1"]) == 4  # 45 steps / 5; 3 epochs + final
    import textgru

    tags = run.data.tags
    assert tags["textgru.task"] == "sentiment" and tags["textgru.version"] == textgru.__version__
    assert tags["textgru.run_dir"] == str(run_dir.resolve()) and tags["mlflow.runName"] == "run"
    assert "model.hidden_size=16" in tags["textgru.overrides"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)  # the working folder
    assert tags.get("mlflow.source.git.commit") == (head.stdout.strip() if head.returncode == 0 else None)
    artifacts = {a.path for a in mlflow.MlflowClient(store).list_artifacts(run.info.run_id)}
    assert artifacts == {"config.yaml", "tokenizer.json", "metrics.json", "learning_curves.png", "confusion_matrix.png"}
    # the artifacts sit next to the database, not in ./mlruns of the working folder
    assert Path(run.info.artifact_uri.removeprefix("file://")).is_relative_to(
        Path(store.removeprefix("sqlite:///")).parent
    )


# fenced as `py`, not `python`: test_api runs every `python` block of the README in a folder without a sweep
README_SNIPPET = re.compile(r"```py\n(# a sweep's runs as a pandas table\n.*?)```", re.S)


# four one-epoch training runs in one process (15-20 s)
def test_a_2x2_sweep_is_one_parent_with_four_children_and_the_readme_snippet_reads_them(
    small_csv: Path, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'new.db'}"  # made by the sweep's parent run
    sweep = tmp_path / "2026-12-07" / "15-48-43"  # as outputs/<task>/multirun/<date>/<time>
    r = run_script(
        "train",
        "-m",
        *_args(
            store,
            "sweep",
            small_csv,
            "trainer.max_epochs=1",
            "model.hidden_size=8,16",
            "seed=1,2",
            f"hydra.sweep.dir={sweep}",
        ),
        timeout=500,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    for line in ("Creating initial MLflow database tables", "setup plugin alembic"):  # a review: shown before the jobs
        assert line not in r.stdout + r.stderr
    runs = _runs(store, "sweep")
    parents = [x for x in runs if "mlflow.parentRunId" not in x.data.tags]
    assert len(parents) == 1 and len(runs) == 5
    parent = parents[0]
    assert parent.info.status == "FINISHED" and parent.data.tags["textgru.kind"] == "sweep"
    assert parent.data.tags["mlflow.runName"] == "2026-12-07/15-48-43"  # a review: the time alone, unlike a run's
    assert json.loads((sweep / "mlflow_run.json").read_text())["run_id"] == parent.info.run_id
    assert parent.data.params["model.hidden_size"] == "8,16" and parent.data.params["seed"] == "1,2"
    children = [x for x in runs if x.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 4 and all(c.info.status == "FINISHED" for c in children)
    assert {(c.data.params["model.hidden_size"], c.data.params["seed"]) for c in children} == {
        ("8", "1"),
        ("8", "2"),
        ("16", "1"),
        ("16", "2"),
    }
    best = 0.0
    for child in children:  # each child is its own job folder's run
        job = Path(child.data.tags["textgru.run_dir"])
        assert job.parent == sweep.resolve() and child.data.tags["mlflow.runName"] == job.name
        assert f"model.hidden_size={child.data.params['model.hidden_size']}" in child.data.tags["textgru.overrides"]
        metrics = json.loads((job / "metrics.json").read_text())
        assert child.data.metrics["val/macro_f1"] == pytest.approx(metrics["val/macro_f1"], rel=1e-12)
        best = max(best, metrics["val/macro_f1"])
    assert parent.data.metrics["best/val/macro_f1"] == pytest.approx(best)
    assert {a.path for a in mlflow.MlflowClient(store).list_artifacts(parent.info.run_id)} == {
        "summary.csv",
        "summary.md",
    }

    # the README's snippet, pointed at this store and sweep, loads the four runs as a pandas table
    snippet = README_SNIPPET.search((ROOT / "README.md").read_text())
    assert snippet, "README: no py block starting '# a sweep's runs as a pandas table'"
    code = re.sub(r"(?m)^store = .*$", f"store = {store!r}", snippet.group(1))
    code = re.sub(r"(?m)^sweep_dir = .*$", f"sweep_dir = {str(sweep)!r}", code)
    scope: dict[str, Any] = {}
    with mock.patch.dict(os.environ):  # mlflow.set_tracking_uri sets $MLFLOW_TRACKING_URI: not for later tests
        exec(compile(code, "README.md", "exec"), scope)  # the project's own README
    table = scope["table"]
    assert len(table) == 4 and set(table["params.seed"]) == {"1", "2"}
    assert list(table["metrics.val/macro_f1"]) == sorted(table["metrics.val/macro_f1"], reverse=True)


def test_python_sweep_is_one_parent_with_a_child_per_job(store: str, small_csv: Path, tmp_path: Path) -> None:
    import textgru

    results = textgru.sweep(
        _args(store, "pysweep", small_csv, "trainer.fast_dev_run=true", "model.hidden_size=8,16"),
        sweep_dir=tmp_path / "sweep",
    )
    assert len(results) == 2
    runs = _runs(store, "pysweep")
    parent = next(x for x in runs if x.data.tags.get("textgru.kind") == "sweep")
    children = [x for x in runs if x.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and parent.info.status == "FINISHED"
    assert sorted(c.data.params["model.hidden_size"] for c in children) == ["16", "8"]
    # fast_dev_run: no per-step logging, so the final values are all a child holds
    for child, result in zip(sorted(children, key=lambda c: c.info.run_name), results, strict=True):
        assert child.data.metrics["test/macro_f1"] == pytest.approx(result.metrics["test/macro_f1"])
    other = f"logger.mlflow.tracking_uri={store},sqlite:///{tmp_path / 'b.db'}"  # a review: a job in another store
    with pytest.raises(
        TextgruError, match=rf"^the job logger.mlflow.tracking_uri=sqlite:///{tmp_path}/b\.db would go to "
    ):
        textgru.sweep(
            [*_args(store, "pysweep", small_csv, "trainer.fast_dev_run=true"), other], sweep_dir=tmp_path / "s2"
        )
    assert not (tmp_path / "s2").exists() and not (tmp_path / "b.db").exists()


CRASH_IN_JOB = """
import lightning as L


class CrashIn(L.Callback):  # the sweep job given crash=true crashes when training starts
    def __init__(self, crash: bool) -> None:
        self.crash = crash

    def on_train_start(self, trainer, pl_module) -> None:
        if self.crash:
            raise RuntimeError("simulated crash of one job")
"""


def test_a_python_sweep_with_a_failed_job_gives_its_parent_the_summary_as_train_m_does(
    store: str, small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: `textgru.sweep()` raised at a failed job with summary.csv written, but its MLflow parent ended FAILED
    without the summary, `best/<metric>` or `textgru.failed_jobs` that `textgru train -m`'s parent gets (only a stopped
    sweep's was attached); and a job failing with an error textgru did not foresee left no summary at all."""
    import textgru

    (tmp_path / "crash.py").write_text(CRASH_IN_JOB)
    monkeypatch.syspath_prepend(str(tmp_path))
    client = mlflow.MlflowClient(store)
    refused = ["data.train_size=100,100000"]  # job 1 refused once its data is read (a TextgruError)
    crashed = ["+callbacks.crash._target_=crash.CrashIn", "+callbacks.crash.crash=false,true,false"]
    for name, swept, error, failed in (
        ("refused", refused, TextgruError, "1"),
        ("crashed", crashed, RuntimeError, "1; 1 not started"),
    ):
        with pytest.raises(error) as raised:
            args = _args(store, f"failed_{name}", small_csv, "trainer.fast_dev_run=true", *swept)
            textgru.sweep(args, sweep_dir=tmp_path / name)
        said = str(raised.value) + "".join(getattr(raised.value, "__notes__", []))  # a crash: its own, and a note
        assert f"the 1 job(s) before it are summarised in {tmp_path / name / 'summary.md'}" in said
        rows = list(csv.DictReader((tmp_path / name / "summary.csv").open()))
        assert [r["status"] for r in rows] == ["finished", "failed", "not started"][: len(rows)]
        (parent,) = [x for x in _runs(store, f"failed_{name}") if x.data.tags.get("textgru.kind") == "sweep"]
        assert parent.info.status == "FAILED" and parent.data.tags.get("textgru.failed_jobs") == failed
        assert parent.data.metrics.get("best/val/macro_f1") == pytest.approx(float(rows[0]["val/macro_f1"]))
        assert sorted(a.path for a in client.list_artifacts(parent.info.run_id)) == ["summary.csv", "summary.md"]


CRASH_AT_LR = """
import lightning as L


class CrashAtLr(L.Callback):  # the trial whose optimizer was made with learning rate `lr` crashes
    def __init__(self, lr: float) -> None:
        self.lr = lr

    def on_train_start(self, trainer, pl_module) -> None:
        if trainer.optimizers[0].defaults["lr"] == self.lr:
            raise RuntimeError("simulated crash of one trial")
"""


# three trials in one process (12 s quiet)
@pytest.mark.slow  # the default suite keeps the Python sweep's parent/children test
def test_a_search_is_one_parent_with_a_child_per_trial_and_its_state(
    store: str, small_csv: Path, tmp_path: Path
) -> None:
    """Three trials, one per learning rate (seed 28 of the random sampler draws each once), each ending differently:
    lr 0.01 learns (COMPLETE), lr 1e-9 stays below the pruner's threshold at its second validation (PRUNED), lr 0.5
    crashes when training starts (FAIL: a callback of the test's own; a value the config checks refuse, such as a
    negative lr, stops the whole search before its first trial)."""
    (tmp_path / "crash.py").write_text(CRASH_AT_LR)
    study_dir = tmp_path / "study"
    r = run_script(
        "tune",
        "hparams_search=sentiment",
        *_args(store, "search", small_csv),
        "trainer.max_epochs=2",
        "~hparams_search.params",
        "+hparams_search.params={optimizer.lr: 'choice(0.01, 1e-9, 0.5)'}",
        "+callbacks.crash._target_=crash.CrashAtLr",
        "+callbacks.crash.lr=0.5",
        "~hparams_search.sampler",
        "+hparams_search.sampler={_target_: optuna.samplers.RandomSampler, seed: 28}",
        "~hparams_search.pruner",
        "+hparams_search.pruner={_target_: optuna.pruners.ThresholdPruner, lower: 0.5, n_warmup_steps: 1}",
        "n_trials=3",
        f"hydra.run.dir={study_dir}",
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert r.returncode == 2, r.stderr[-3000:]  # a search with a failed trial exits 2 after writing its summary
    failed = f"error: 1 trial(s) of the search failed: {study_dir / 'trial_002'} (see above)"
    assert r.stderr.splitlines()[-1] == failed, r.stderr[-3000:]
    import optuna

    study = optuna.load_study(study_name="sentiment", storage=f"sqlite:///{study_dir / 'study.db'}")
    states = {t.params["optimizer.lr"]: t.state.name for t in study.trials}
    assert states == {0.01: "COMPLETE", 1e-9: "PRUNED", 0.5: "FAIL"}
    runs = _runs(store, "search")
    parent = next(x for x in runs if x.data.tags.get("textgru.kind") == "search")
    assert parent.info.status == "FAILED" and parent.data.tags["optuna.study_name"] == "sentiment"  # as a -m sweep
    assert parent.data.tags["textgru.failed_jobs"] == "trial_002"  # with a failed job (a review: FINISHED, no tag)
    assert parent.data.params["n_trials"] == "3"  # a review: the search's size was nowhere in the parent run
    assert json.loads((study_dir / "mlflow_run.json").read_text())["run_id"] == parent.info.run_id
    children = [x for x in runs if x.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 4 and len(children) == 3
    by_lr = {float(c.data.params["optimizer.lr"]): c for c in children}
    assert {lr: c.data.tags["optuna.state"] for lr, c in by_lr.items()} == states
    assert {lr: c.info.status for lr, c in by_lr.items()} == {0.01: "FINISHED", 1e-9: "FINISHED", 0.5: "FAILED"}
    for t in study.trials:
        assert by_lr[t.params["optimizer.lr"]].data.tags["optuna.trial_number"] == str(t.number)
    assert parent.data.metrics["best/val/macro_f1"] == pytest.approx(study.best_value)
    assert parent.data.tags["textgru.best_run"] == f"trial_{study.best_trial.number:03d}"
    artifacts = {a.path for a in mlflow.MlflowClient(store).list_artifacts(parent.info.run_id)}
    assert artifacts == {
        "summary.csv",
        "summary.md",
        "best_experiment.yaml",
    }  # written by `textgru tune` after the trials


KILLER = """
import os
import lightning as L


class Kill(L.Callback):  # dies abruptly (no cleanup, like kill -9) at the end of training step `step`, or is
    def __init__(self, step: int, ctrl_c: bool = False) -> None:  # stopped with Ctrl+C there
        self.step, self.ctrl_c = step, ctrl_c

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            if self.ctrl_c:
                raise KeyboardInterrupt
            os._exit(9)
"""


# default suite (15 s quiet): resuming into the same MLflow run is the point of the tracking design
@pytest.mark.parametrize("ctrl_c", [False, True], ids=["kill-9", "ctrl-c"])
def test_resume_continues_the_same_run_without_duplicated_steps(
    store: str, small_csv: Path, tmp_path: Path, ctrl_c: bool
) -> None:
    """Checkpoints every 10 steps, killed (or stopped with Ctrl+C: a review found the rows past the checkpoint sent
    then, and kept in place of the resumed run's) at step 25: the store holds the rows the checkpoint at 20 covers
    (steps up to 19), as metrics.csv does after `trim_metrics_log`. Resumed with more epochs (which changes the learning-rate
    schedule, so steps 20-25 come out differently the second time): one run, each step once, and the values of the
    run that finished, the same as metrics.csv's. The killer is removed on resume (`callbacks.killer=null`), so
    `resume=` has no `_target_` of ours to refuse."""
    (tmp_path / "killer.py").write_text(KILLER)
    run_dir = tmp_path / "run"
    args = _args(
        store,
        experiment := "resume_" + ("ctrl_c" if ctrl_c else "kill"),
        small_csv,
        f"hydra.run.dir={run_dir}",
        "trainer.log_every_n_steps=2",
        "callbacks.checkpoint.every_n_steps=10",
        "logger.mlflow.log_checkpoint=true",
    )
    env = {"PYTHONPATH": str(tmp_path)}
    killer = [
        "+callbacks.killer._target_=killer.Kill",
        "+callbacks.killer.step=25",
        f"+callbacks.killer.ctrl_c={ctrl_c}",
    ]
    r = run_script("train", *args, *killer, env=env)
    assert r.returncode == (130 if ctrl_c else 9), r.stderr[-2000:]
    (killed,) = _runs(store, experiment)
    assert killed.info.status == ("KILLED" if ctrl_c else "RUNNING")
    before = _history(store, killed.info.run_id)
    assert max(s for s, _ in before["train/loss_step"]) == 19  # covered by the checkpoint at 20; 21 and 23 were held
    r = run_script("train", *args, f"resume={run_dir}", "callbacks.killer=null", "trainer.max_epochs=4", env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    (run,) = _runs(store, experiment)
    assert run.info.run_id == killed.info.run_id and run.info.status == "FINISHED"
    assert run.data.tags["textgru.resumes"] == "1"
    # params cannot change in MLflow: the value the resume changed is a tag
    assert (
        run.data.params["trainer.max_epochs"] == "3" and run.data.tags["textgru.resume1.trainer.max_epochs"] == "3 -> 4"
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["global_step"] > 45  # trained on past the first run's end
    now, before_resume = (yaml.safe_load((run_dir / f).read_text()) for f in CONFIGS_AFTER_RESUME)
    assert now["trainer"]["max_epochs"] == 4 and now["callbacks"]["killer"] is None  # what the run trained with
    assert before_resume["trainer"]["max_epochs"] == 3 and before_resume["callbacks"]["killer"]["step"] == 25
    history = _check_history_equals_csv(store, run.info.run_id, run_dir)  # continuous, each step once
    assert [s for s, _ in history["train/loss_step"]] == list(range(1, metrics["global_step"], 2))
    assert dict(history["train/loss_step"]) == pytest.approx(_csv_values(run_dir, "train/loss_step"), rel=1e-6)
    aside = _csv_values(run_dir / "logs", "train/loss_step", "metrics.after-step-20.csv")  # the killed run's
    assert sorted(aside) == [21, 23] and aside[23] != pytest.approx(dict(history["train/loss_step"])[23], rel=1e-6)
    assert {k: run.data.metrics[k] for k in _numbers(metrics)} == pytest.approx(_numbers(metrics), rel=1e-12)
    artifacts = {a.path for a in mlflow.MlflowClient(store).list_artifacts(run.info.run_id, "checkpoints")}
    assert artifacts == {"checkpoints/best.ckpt"}


@pytest.mark.parametrize(
    "swept",
    ["logger.mlflow.tracking_uri=sqlite:///a/a.db,sqlite:///b/b.db", "logger.mlflow.experiment_name=ea,eb"],
)
def test_a_sweep_over_where_mlflow_records_is_one_line(swept: str, small_csv: Path, tmp_path: Path) -> None:
    """A review: swept tracking URIs put the sweep's parent run in a third store, made unasked, and swept experiment
    names left each child in another experiment than its parent."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = _args(store, "swept", small_csv, swept, f"hydra.sweep.dir={tmp_path / 'sweep'}", "trainer.max_epochs=1")
    r = run_script("train", "-m", *args, cwd=tmp_path)
    key = swept.partition("=")[0]
    assert r.returncode != 0 and r.stderr.strip().splitlines()[-1].endswith(
        f"{key}: a sweep is one MLflow parent run, with its jobs in one store and experiment; give it one value, or "
        "start one sweep per value"
    ), r.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == [], sorted(tmp_path.rglob("*"))


def test_a_run_refused_once_its_data_is_read_makes_no_new_store(small_csv: Path, tmp_path: Path) -> None:
    """A review: a run refused after the store was checked (too many labelled examples asked for, an LM that does
    not fit) left a new SQLite store with MLflow's tables, and its folder. A new store is made when the run starts."""
    store = f"sqlite:///{tmp_path / 'new' / 'ml.db'}"
    r = run_script(
        "train", *_args(store, "refused", small_csv, f"hydra.run.dir={tmp_path / 'run'}", "data.train_size=100000")
    )
    assert r.returncode == 2 and "data.train_size=100000" in r.stderr.strip().splitlines()[-1], r.stderr[-2000:]
    assert not (tmp_path / "new").exists() and not (tmp_path / "run").exists()


def test_a_sweeps_jobs_in_another_store_than_its_parent_are_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: `-m paths.output_dir=a,b logger=mlflow` (the default store is in paths.output_dir) put the parent
    run in a third store, made unasked, and no job under it; jobs of other experiments (`task=sentiment,lm`: each
    task's own) are named in a warning, as the UI does not nest them under the parent."""
    from omegaconf import OmegaConf

    from textgru.config import compose_config
    from textgru.mlflow_sweep import check_jobs_stores

    def sweep(*overrides: str) -> Any:  # the multirun's config, as Hydra gives it: without the sweep's values
        cfg = compose_config("train", ["logger=mlflow", *(o for o in overrides if "," not in o)])
        OmegaConf.set_struct(cfg, False)
        return OmegaConf.merge(
            cfg, {"hydra": {"overrides": {"task": list(overrides)}, "job": {"config_name": "train"}}}
        )

    with pytest.raises(
        TextgruError,
        match=rf"^paths\.output_dir={re.escape(str(tmp_path / 'b'))}: its jobs would go to another MLflow store "
        rf"\(sqlite:///{re.escape(str(tmp_path / 'b' / 'mlflow.db'))}\) than the sweep's parent run",
    ):
        check_jobs_stores(sweep("logger=mlflow", "seed=1,2", f"paths.output_dir={tmp_path / 'b'},{tmp_path / 'a'}"))
    with caplog.at_level(logging.WARNING, logger="textgru"):
        check_jobs_stores(sweep("logger=mlflow", "seed=1,2", "logger.mlflow.tracking_uri=sqlite:////x/m.db"))
        check_jobs_stores(
            sweep("logger=mlflow", "logger=mlflow,default", "logger.mlflow.tracking_uri=sqlite:////x/m.db")
        )
    assert "MLflow" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="textgru"):
        check_jobs_stores(sweep("task=lm,bilm", "logger=mlflow"))
    assert "this sweep's jobs go to experiments bilm, lm too; its parent run is in sentiment, and the UI" in caplog.text


def test_a_resume_whose_store_is_gone_is_one_line_that_makes_no_new_store(small_csv: Path, tmp_path: Path) -> None:
    """A review: MLflow made a new empty store in its place, and the line said to resume with the same store's URI.
    Resumed with the store where it is now, the run folder's record names that place."""
    store = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    run_dir = tmp_path / "run"
    r = run_script("train", *_args(store, "gone", small_csv, f"hydra.run.dir={run_dir}", "trainer.max_epochs=1"))
    assert r.returncode == 0, r.stderr[-2000:]
    shutil.move(tmp_path / "store", tmp_path / "moved")
    r = run_script("train", f"resume={run_dir}", "trainer.max_epochs=2")
    assert r.returncode == 2 and not (tmp_path / "store").exists()
    assert (
        r.stderr.strip()
        .splitlines()[-1]
        .endswith(
            f"whose database {tmp_path / 'store' / 'mlflow.db'} is not there (moved or deleted?); resume with "
            "logger.mlflow.tracking_uri=<where it is now>, or move mlflow_run.json aside and the resumed run gets a new "
            "MLflow run"
        )
    )
    other = f"sqlite:///{tmp_path / 'other.db'}"  # a review: a missing store given now was named as the record's
    r = run_script("train", f"resume={run_dir}", "trainer.max_epochs=2", f"logger.mlflow.tracking_uri={other}")
    assert f"in {other} (it was sqlite:///{tmp_path / 'store' / 'mlflow.db'}), whose database" in r.stderr, r.stderr
    moved = f"sqlite:///{tmp_path / 'moved' / 'mlflow.db'}"  # resumed as told: the record says where it is now
    r = run_script("train", f"resume={run_dir}", "trainer.max_epochs=2", f"logger.mlflow.tracking_uri={moved}")
    assert r.returncode == 2 and not (tmp_path / "store").exists(), r.stderr[-2000:]  # a review: made again, written
    assert (
        r.stderr.strip()
        .splitlines()[-1]
        .endswith(  # the run's artifacts there, which MLflow cannot move
            f"which is not there (MLflow cannot move a run's artifacts): link the old place to the new (ln -s "
            f"{tmp_path / 'moved'} {tmp_path / 'store'}) and resume again, or move mlflow_run.json aside and the resumed "
            "run gets a new MLflow run"
        )
    ), r.stderr[-2000:]
    (tmp_path / "store").symlink_to(tmp_path / "moved")
    r = run_script("train", f"resume={run_dir}", "trainer.max_epochs=2", f"logger.mlflow.tracking_uri={moved}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((run_dir / "mlflow_run.json").read_text())["tracking_uri"] == moved  # a review: the old one
    artifacts = Path(
        mlflow.MlflowClient(moved)
        .get_run(json.loads((run_dir / "mlflow_run.json").read_text())["run_id"])
        .info.artifact_uri.removeprefix("file://")
    )
    assert (tmp_path / "moved").resolve() in artifacts.resolve().parents and (artifacts / "metrics.json").is_file()


@pytest.mark.slow  # ~15 s; DDP itself is in tests/test_distributed.py's default test
def test_a_ddp_cpu_run_is_one_run(store: str, small_csv: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    r = run_script(
        "train",
        *_args(
            store,
            "ddp",
            small_csv,
            "trainer=ddp_cpu",
            "trainer.max_epochs=2",
            "trainer.log_every_n_steps=2",
            f"hydra.run.dir={run_dir}",
        ),
        timeout=500,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    (run,) = _runs(store, "ddp")  # rank 1 runs the script too, and must not start a run of its own
    assert run.info.status == "FINISHED"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {k: run.data.metrics[k] for k in _numbers(metrics)} == pytest.approx(_numbers(metrics), rel=1e-12)
    _check_history_equals_csv(store, run.info.run_id, run_dir)


@pytest.mark.parametrize(
    "uri,needle",
    [
        ("foo://somewhere", "unknown scheme 'foo'"),
        ("file:///tmp/textgru-mlruns", "file store"),
        ("mlruns", "file store"),  # a bare folder is a file store; a bare "databricks" is not (below)
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("http://127.0.0.1:9", "no tracking server answers"),
        ("http://127.0.0.1:notaport", "is not a valid URL"),  # were tracebacks (InvalidURL, ValueError)
        ("http://[::1", "is not a valid URL (Invalid IPv6 URL)"),
        ("http:/127.0.0.1:5000", "is not a URL: its scheme 'http:' needs '://'"),  # a review: "a file store"
    ],
)
def test_a_bad_tracking_uri_is_one_line(uri: str, needle: str) -> None:
    from textgru.mlflow_store import open_store
    from textgru.mlflow_uri import resolve_uri

    with pytest.raises(TextgruError, match=re.escape(needle)) as e:
        open_store(resolve_uri(uri))  # as a run opens its store: a relative SQLite path made absolute first
    assert "\n" not in str(e.value) and uri in str(e.value)


def test_a_store_locked_by_another_writer_is_named_while_waiting_and_in_the_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: a SQLite store another process held mid-write made a run wait ~25 s without a word, then end with
    "database is locked" alone. The wait is named, and the failure says what to do; the probe writes nothing."""
    import sqlite3
    import threading

    import mlflow

    from textgru.mlflow_store import open_store

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    open_store(uri)
    before = (tmp_path / "mlflow.db").read_bytes()
    with caplog.at_level(logging.WARNING):
        open_store(uri)
    assert "locked" not in caplog.text and (tmp_path / "mlflow.db").read_bytes() == before
    holder = sqlite3.connect(tmp_path / "mlflow.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(2.5, lambda: holder.execute("ROLLBACK")).start()  # past the probe's 1 s; then MLflow gets in
    with caplog.at_level(logging.WARNING):
        open_store(uri).client.search_experiments()
    assert f"the SQLite store {tmp_path / 'mlflow.db'} is locked (another process holds it mid-write)" in caplog.text
    holder.close()
    locked = mock.patch.object(
        mlflow, "MlflowClient", side_effect=RuntimeError("(sqlite3.OperationalError) database is locked")
    )
    with locked, pytest.raises(TextgruError, match=r"database is locked; another process holds the SQLite file mid-write: "
                               r"let it finish \(or end it\) and run again$"):  # fmt: skip
        open_store(uri)


def test_a_store_path_with_a_name_too_long_is_one_line_before_any_work(small_csv: Path, tmp_path: Path) -> None:
    """A review: a SQLite store whose folder's name is too long for the file system was found only once the run had
    read its data and made its run folder."""
    uri = f"sqlite:///{tmp_path / ('d' * 300) / 'm.db'}"
    r = run_script("train", *_args(uri, "x", small_csv, f"hydra.run.dir={tmp_path / 'run'}"))
    assert r.returncode == 2 and "holds a name of 300 bytes" in r.stderr.splitlines()[-1], r.stderr[-3000:]
    assert "data:" not in r.stderr and not (tmp_path / "run").exists()


def test_a_file_store_path_is_made_absolute_and_a_uri_from_the_environment_is_named_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: a file store's ./mlruns was recorded as given, so a resume from another folder looked for
    it there (and named its "database s"); a bad $MLFLOW_TRACKING_URI was named as a config key the user never typed."""
    from textgru.config_path_rules import StoreUri
    from textgru.mlflow_uri import check_uri, resolve_uri

    monkeypatch.chdir(tmp_path)
    here = tmp_path.resolve()
    assert resolve_uri("./mlruns") == resolve_uri("mlruns") == str(here / "mlruns")
    assert resolve_uri("file:mlruns") == f"file://{here / 'mlruns'}"
    for kept in ("databricks", "http://127.0.0.1:5000", "file:///x/mlruns", "/x/mlruns", "postgresql://u@h/db"):
        assert resolve_uri(kept) == kept
    said = "(the value of $MLFLOW_TRACKING_URI: fix or unset it)"
    assert said not in StoreUri().problem("ftp://x/y")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "ftp://x/y")
    assert StoreUri().problem("ftp://x/y").endswith(said) and said not in StoreUri().problem("foo://z")
    with pytest.raises(TextgruError, match=re.escape(f"logger.mlflow.tracking_uri=ftp://x/y {said} has an unknown")):
        check_uri("ftp://x/y")


def test_a_blank_mlflow_tracking_uri_is_taken_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: `MLFLOW_TRACKING_URI= textgru train logger=mlflow` was refused as "logger.mlflow.tracking_uri='' is
    not a URI", a key never typed; MLflow takes an empty value as unset, and so does textgru (the default store)."""
    import os
    import sys

    check = (  # a fresh process: the variable is dropped when textgru.mlflow_uri is imported, before a config is read
        "from textgru.config_path_rules import StoreUri\nfrom textgru.config import compose_config\n"
        "uri = compose_config('train', ['logger=mlflow', 'paths.output_dir=/x/o']).logger.mlflow.tracking_uri\n"
        "print(uri, StoreUri().problem(uri))"
    )
    for blank in ("", "  "):
        env = {**os.environ, "MLFLOW_TRACKING_URI": blank}
        said = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=120)
        assert said.stdout.split() == ["sqlite:////x/o/mlflow.db", "None"], said.stderr
    from textgru.config import compose_config
    from textgru.mlflow_uri import blank_environment_as_unset

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////y/mlflow.db")
    blank_environment_as_unset()  # a value is kept
    assert compose_config("train", ["logger=mlflow"]).logger.mlflow.tracking_uri == "sqlite:////y/mlflow.db"


def test_a_store_url_with_a_host_or_another_programs_database_is_refused_untouched(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: `sqlite://lstore/runs.db` (two slashes) left a folder made from the path with its first
    letter dropped; an Optuna study.db named as the store got MLflow's tables added, then an alembic error. And an
    experiment named '..' put its artifacts beside the database instead of under mlartifacts/."""
    import sqlite3

    from textgru.mlflow_store import open_store
    from textgru.mlflow_uri import resolve_uri

    monkeypatch.chdir(tmp_path)
    with pytest.raises(TextgruError, match=re.escape("has a host part; a SQLite store's URL has three slashes")):
        open_store(resolve_uri("sqlite://lstore/runs.db"))
    foreign = tmp_path / "study.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE studies (study_id INTEGER, study_name TEXT)")
    before = foreign.read_bytes()
    with pytest.raises(TextgruError, match=re.escape("a database of another program (tables studies); give a new")):
        open_store(resolve_uri("sqlite:///study.db"))
    assert foreign.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["study.db"]
    notes = tmp_path / "notes.db"  # MLflow said "file is not a database" ~18 s later, with no fix (a review)
    notes.write_text("my notes")
    with pytest.raises(TextgruError, match=re.escape(f"names {notes}, which is not a SQLite database; give a new")):
        open_store(resolve_uri("sqlite:///notes.db"))
    assert notes.read_text() == "my notes"
    notes.unlink()
    experiment = open_store(store).client.get_experiment(open_store(store).experiment_id("..", None))
    assert Path(experiment.artifact_location).name == "_" and Path(experiment.artifact_location).parent.name == (
        "mlartifacts"
    )


def test_a_named_workspace_is_not_taken_for_a_file_store() -> None:
    from textgru.mlflow_uri import uri_problem

    assert uri_problem("databricks") is None and uri_problem("databricks-uc") is None  # MLflow's own words
    assert uri_problem("databricks://myscope:myprefix") is None  # a secret scope and key prefix, not a host and port
    for folder in ("databricks-workspace", "sqlite", "http", "postgresql"):  # a bare word is a folder: a file store
        assert "file store" in (uri_problem(folder) or ""), folder


def test_an_unwritable_store_folder_fails_before_training_with_one_line(
    store: str, small_csv: Path, tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("not a folder")
    bad = f"sqlite:///{tmp_path / 'afile' / 'sub' / 'mlflow.db'}"
    run_dir = tmp_path / "run"
    r = run_script("train", *_args(bad, "bad", small_csv, f"hydra.run.dir={run_dir}"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot create the folder" in errors[0] and str(tmp_path / "afile") in errors[0], (
        r.stderr
    )
    assert not run_dir.exists()  # refused before anything was written
    # a sweep fails the same way, before its first job
    r = run_script(
        "train", "-m", *_args("foo://x", "bad", small_csv, "seed=1,2", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    )
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert r.returncode == 2 and len(errors) == 1 and "unknown scheme" in errors[0], r.stderr[-2000:]
    assert "Traceback" not in r.stderr and not (tmp_path / "sweep").exists()


def test_a_slow_write_is_warned_of_once(store: str, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """A review: a SQLite store locked by another process for 40 s held training 7-17 s, with no word said."""
    from textgru import mlflow_logger
    from textgru.mlflow_logger import MLflowMetricsLogger

    client = mlflow.MlflowClient(store)
    run_id = client.create_run(client.create_experiment("slow")).info.run_id
    logger = MLflowMetricsLogger(store, run_id, hold_back=False, flush_every_s=0)
    logger.log_metrics({"loss": 1.0}, 0)  # a write as fast as the store is: nothing said
    assert "took" not in caplog.text
    monkeypatch.setattr(mlflow_logger, "SLOW_WRITE_S", 0.0)
    with caplog.at_level("WARNING", logger="textgru.mlflow_logger"):
        for step in (1, 2):
            logger.log_metrics({"loss": 0.5}, step)
    assert caplog.text.count("MLflow: writing 1 values took") == 1, caplog.text
    assert sorted(m.step for m in client.get_metric_history(run_id, "loss")) == [0, 1, 2]


def test_rows_reach_the_store_when_a_checkpoint_covers_them(store: str) -> None:
    """Rows wait for a checkpoint; those Lightning logs for earlier steps just after it go at once (a step's row is
    logged after that step's callbacks); the end of a stage sends the rest. A resumed run sends no step the store
    holds. Without checkpointing, rows go by time."""
    from types import SimpleNamespace

    from textgru.mlflow_logger import FlushAtCheckpoint, MLflowMetricsLogger

    client = mlflow.MlflowClient(store)
    run_id = client.create_run(client.create_experiment("logger")).info.run_id
    logger = MLflowMetricsLogger(store, run_id, flush_every_s=0)  # holding back wins over time

    def stored(key: str) -> list[int]:
        return sorted(m.step for m in client.get_metric_history(run_id, key))

    for step in range(19):
        logger.log_metrics({"loss": 1.0 / (step + 1)}, step)
    assert stored("loss") == []  # no checkpoint covers them yet
    FlushAtCheckpoint().on_save_checkpoint(SimpleNamespace(loggers=[logger], global_step=20), None, {})
    assert stored("loss") == list(range(19))
    logger.log_metrics({"loss": 0.05}, 19)  # the row of the checkpoint's own step, logged after it
    assert stored("loss") == list(range(20))
    logger.log_metrics({"loss": 0.04}, 20)  # after the checkpoint: held (a kill now loses it, and the resume redoes it)
    assert stored("loss") == list(range(20))
    logger.finalize("success")
    assert stored("loss") == list(range(21))
    resumed = MLflowMetricsLogger(store, run_id, logged_steps={"loss": 20}, hold_back=False, flush_every_s=0)
    for step in (19, 20, 21):
        resumed.log_metrics({"loss": 0.5}, step)
    assert stored("loss") == list(range(22))  # 21 sent at once: no checkpointing, no holding back
    assert [m.value for m in client.get_metric_history(run_id, "loss") if m.step == 20] == [0.04]
    # a stop or a crash sends only what a checkpoint covers, as metrics.csv keeps on resume (a review: a Ctrl-C sent
    # steps past the checkpoint, which then stayed in place of the resumed run's values, its latest val/loss too)
    stopped_id = client.create_run(client.get_experiment_by_name("logger").experiment_id).info.run_id
    for key, end in (("stop", lambda lg: lg.finalize("failed")), ("crash", lambda lg: None)):
        stopped = MLflowMetricsLogger(store, stopped_id, flush_every_s=0)
        for step in range(19):
            stopped.log_metrics({key: 1.0}, step)
        FlushAtCheckpoint().on_save_checkpoint(SimpleNamespace(loggers=[stopped], global_step=20), None, {})
        for step in range(19, 25):
            stopped.log_metrics({key: 1.0}, step)
        end(stopped)  # Lightning's, after a failure
        stopped.drop_uncovered()  # then RunTracker.end's, for a run that did not finish
        stopped.flush()
        assert sorted(m.step for m in client.get_metric_history(stopped_id, key)) == list(range(20))


def test_logger_tensorboard_needs_tensorboard(monkeypatch: pytest.MonkeyPatch) -> None:
    from textgru import loggers
    from textgru.config import compose_config

    monkeypatch.setattr(loggers, "installed", lambda module: module != "tensorboard")
    with pytest.raises(TextgruError, match=r"pip install 'textgru\[tensorboard\]'"):
        loggers.check_logger_packages(compose_config("train", ["logger=tensorboard"]))
    loggers.check_logger_packages(compose_config("train", []))  # the default: TensorBoard only where installed
    both = compose_config("train", ["logger=[mlflow,tensorboard]"])  # several loggers at once
    assert both.logger.tensorboard is True and both.logger.mlflow.experiment_name == "sentiment" and both.logger.csv
    assert compose_config("train", ["logger=[tensorboard,mlflow,wandb]"]).logger.mlflow.experiment_name == "sentiment"


def test_tensorboard_and_wandb_offline(small_csv: Path, tmp_path: Path) -> None:
    """Both optional (extras `tensorboard`, `wandb`): skipped where either is not installed."""
    pytest.importorskip("tensorboard")
    pytest.importorskip("wandb")
    run_dir = tmp_path / "run"
    tiny = [a for a in TINY_MODEL if not a.startswith("logger.tensorboard")]
    r = run_script(
        "train",
        "task=sentiment",
        "data=local",
        f"data.path={small_csv}",
        *DATA,
        *tiny,
        "logger=[tensorboard,wandb]",
        "trainer.max_epochs=1",
        f"hydra.run.dir={run_dir}",
        env={"WANDB_SILENT": "true"},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    run_id = json.loads((run_dir / "wandb_run.json").read_text())["id"]
    assert len(list((run_dir / "wandb").glob(f"offline-run-*-{run_id}"))) == 1


def test_resuming_a_run_whose_mlflow_run_was_deleted_says_how_to_restore_it(store: str, tmp_path: Path) -> None:
    """It said the store did not hold the run and to resume with the store it was logged to: the same store."""
    from textgru.config import compose_config
    from textgru.mlflow_record import write_record
    from textgru.run_folder import RunFolder
    from textgru.tracking import RunTracker

    client = mlflow.MlflowClient(store)
    experiment = client.get_experiment_by_name("deleted") or client.get_experiment(client.create_experiment("deleted"))
    run_id = client.create_run(experiment.experiment_id).info.run_id
    client.delete_run(run_id)
    folder = RunFolder(tmp_path / "run")
    write_record(folder, store, experiment.experiment_id, run_id)
    cfg = compose_config(
        "train", ["logger=mlflow", f"logger.mlflow.tracking_uri={store}", f"paths.run_dir={folder.path}"]
    )
    with pytest.raises(
        TextgruError,
        match=re.escape(
            f"was deleted in {store}: restore it (MLFLOW_TRACKING_URI={store} mlflow runs restore --run-id {run_id})"
        ),
    ):
        RunTracker.open(cfg, folder, resuming=True)
    client.restore_run(run_id)
    assert RunTracker.open(cfg, folder, resuming=True).resumed.info.run_id == run_id  # restored as told: it resumes

    # a copy of the folder (its record copied too) resumes as a run of its own: it wrote into the original's run
    client.set_tag(run_id, "textgru.run_dir", str(folder.path.resolve()))
    copy = RunFolder(tmp_path / "copy")
    shutil.copytree(folder.path, copy.path)
    copied = compose_config(
        "train", ["logger=mlflow", f"logger.mlflow.tracking_uri={store}", f"paths.run_dir={copy.path}"]
    )
    assert RunTracker.open(copied, copy, resuming=True).resumed is None
    shutil.rmtree(folder.path)  # moved rather than copied: the run goes on
    assert RunTracker.open(copied, copy, resuming=True).resumed.info.run_id == run_id


def test_a_stopped_sweeps_parent_is_killed_with_its_summary(store: str, tmp_path: Path) -> None:
    """A review: Ctrl+C or SIGTERM on a `-m` sweep left its parent FAILED (its job KILLED) without the summary the stop
    line had written (the process exits 130 without Hydra's on_multirun_end); an error that ends one stays FAILED.
    `textgru.sweep()` stopped: its parent KILLED, with its summary too."""
    import atexit

    from omegaconf import OmegaConf

    from textgru.errors import TrainingStopped
    from textgru.mlflow_parent import parent_run
    from textgru.mlflow_record import read_record
    from textgru.mlflow_sweep import SweepParent
    from textgru.run_folder import RunFolder

    def sweep(name: str, stopped: bool) -> Path:  # job 0 finished, job 1 stopped, job 2 never started
        folder = tmp_path / name
        for job, seed in ((0, 1), (1, 2)):
            (folder / str(job) / ".hydra").mkdir(parents=True)
            (folder / str(job) / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n")
        (folder / "0" / "metrics.json").write_text('{"val/acc": 0.5}')
        (folder / "multirun.yaml").write_text("hydra:\n  overrides:\n    task: ['seed=1,2,3']\n")
        if stopped:  # what the stop line (cli.run_command) writes before it exits 130
            (folder / "summary.csv").write_text("run,seed,status\n0,1,finished\n")
            (folder / "summary.md").write_text("# Sweep summary\n")
        return folder

    mcfg = {"tracking_uri": store, "experiment_name": "stopped_sweep", "artifact_location": None, "tags": {}}
    cfg = {"logger": {"mlflow": mcfg}, "task": {"name": "sentiment"}, "optimized_metric": "val/acc"}
    cfg["optimized_mode"] = "max"
    client, parents = mlflow.MlflowClient(store), {}
    for name, stopped in (("stopped", True), ("crashed", False)):
        hydra = {"sweep": {"dir": str(sweep(name, stopped))}, "overrides": {"task": ["seed=1,2,3"]}}
        callback = SweepParent()
        callback.on_multirun_start(OmegaConf.create({**cfg, "hydra": hydra}))
        atexit.unregister(callback._abandoned)  # called here, as when the process exits
        callback._abandoned()
        parents[name] = client.get_run(read_record(RunFolder(tmp_path / name))["run_id"])
    with pytest.raises(TrainingStopped), parent_run(OmegaConf.create(cfg), tmp_path / "api", "sweep", {}):
        sweep("api", stopped=True)
        raise TrainingStopped("stopped")
    parents["api"] = client.get_run(read_record(RunFolder(tmp_path / "api"))["run_id"])
    for name in ("stopped", "api"):
        run = parents[name]
        assert run.info.status == "KILLED" and run.data.tags["textgru.failed_jobs"] == "1; 1 not started"
        assert run.data.metrics["best/val/acc"] == 0.5
        assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == ["summary.csv", "summary.md"]
    assert parents["crashed"].info.status == "FAILED" and not client.list_artifacts(parents["crashed"].info.run_id)


def test_a_copied_stopped_sweeps_job_leaves_the_originals_parent_run_as_it_is(
    store: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: a stopped sweep's folder copied (`cp -r sw swc`), then a job in the copy run to its end (`textgru
    train resume=swc/1`), brought the copy's summary to the original's parent run, recorded in the copy: it ended
    FINISHED, its `textgru.failed_jobs` gone, while the original's job was still stopped. The copy's summary stays on
    disk, with a warning; the original's own job end still refreshes its parent."""
    import atexit

    from omegaconf import OmegaConf

    from textgru.mlflow_parent import ParentLink, current_parent
    from textgru.mlflow_record import read_record
    from textgru.mlflow_store import Store
    from textgru.mlflow_sweep import SweepParent
    from textgru.run_folder import RunFolder
    from textgru.summarised_runs import update_sweep_summary

    sweep, copy = tmp_path / "sw", tmp_path / "swc"
    for job, seed in ((0, 1), (1, 2)):  # job 0 finished, job 1 stopped
        (sweep / str(job) / ".hydra").mkdir(parents=True)
        (sweep / str(job) / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n")
    (sweep / "0" / "metrics.json").write_text('{"val/acc": 0.5}')
    (sweep / "multirun.yaml").write_text("hydra:\n  overrides:\n    task: ['seed=1,2']\n")
    (sweep / "summary.csv").write_text("run,seed,status\n0,1,finished\n1,2,unfinished\n")  # the stop line's
    mcfg = {"tracking_uri": store, "experiment_name": "copied_sweep", "artifact_location": None, "tags": {}}
    cfg = OmegaConf.create(
        {
            "logger": {"mlflow": mcfg},
            "task": {"name": "sentiment"},
            "optimized_metric": "val/acc",
            "optimized_mode": "max",
        }
    )
    callback = SweepParent()
    hydra = {"sweep": {"dir": str(sweep)}, "overrides": {"task": ["seed=1,2"]}}
    callback.on_multirun_start(OmegaConf.merge(cfg, {"hydra": hydra}))
    atexit.unregister(callback._abandoned)
    callback._abandoned()  # stopped: KILLED with its summary
    client, parent_id = mlflow.MlflowClient(store), read_record(RunFolder(sweep))["run_id"]
    shutil.copytree(sweep, copy)
    (copy / "1" / "metrics.json").write_text('{"val/acc": 0.9}')  # the copy's job 1 resumed to its end
    with caplog.at_level(logging.WARNING, logger="textgru"):
        update_sweep_summary(copy / "1", cfg)
    assert "1,2,finished" in (copy / "summary.csv").read_text().replace('"', "")  # on disk, as without MLflow
    parent = client.get_run(parent_id)
    assert parent.info.status == "KILLED" and parent.data.tags["textgru.failed_jobs"] == "1"
    assert parent.data.metrics["best/val/acc"] == 0.5 and parent.data.tags["textgru.best_run"] == "0"
    assert (
        f"MLflow: {copy} is a copy of {sweep}, whose MLflow parent run stays its own; its summary is not brought to "
        "that parent run" in caplog.text
    )
    with caplog.at_level(logging.WARNING, logger="textgru"):  # a review: the copy's job was the original's child
        assert current_parent(store, copy / "1", Store(store)) is None
    assert f"MLflow: {copy} is a copy of {sweep}, whose MLflow parent run stays its own; this run is not its child" in (
        caplog.text
    )
    assert current_parent(store, sweep / "1", Store(store)) == ParentLink(store, parent_id)
    (sweep / "1" / "metrics.json").write_text('{"val/acc": 0.7}')  # the original's own job 1 finished
    update_sweep_summary(sweep / "1", cfg)
    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED" and "textgru.failed_jobs" not in parent.data.tags
    assert parent.data.metrics["best/val/acc"] == 0.7 and parent.data.tags["textgru.best_run"] == "1"


def test_a_copied_study_folder_gets_a_parent_run_of_its_own_and_another_store_is_one_line(
    store: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: a copy of a study's folder (`cp -r st3 st3c`, then a trial in each) went on in the original's MLflow
    parent run, two trial_005 children of one `optuna.trial_number` under it: the copy gets a parent run of its own, as
    a copied run folder's resume gets a run. A study run again with another store made a new parent there unsaid, its
    record rewritten and the parent that holds its trials left behind: one line, as on `resume=`; a moved store
    (holding the run) and a moved folder go on in it."""
    from omegaconf import OmegaConf

    from textgru.mlflow_parent import parent_run
    from textgru.mlflow_record import read_record
    from textgru.run_folder import RunFolder

    def parent_of(folder: Path, uri: str = store) -> str | None:  # what `textgru tune` opens, run again on `folder`
        mcfg = {"tracking_uri": uri, "experiment_name": "copied_study", "artifact_location": None, "tags": {}}
        cfg = {"logger": {"mlflow": mcfg}, "task": {"name": "sentiment"}}
        with parent_run(OmegaConf.create(cfg), folder, "search", {}) as parent:
            return parent.run_id

    study, copy = tmp_path / "st3", tmp_path / "st3c"
    first = parent_of(study)
    assert first is not None and parent_of(study) == first
    shutil.copytree(study, copy)
    with caplog.at_level("WARNING", logger="textgru"):
        ours = parent_of(copy)
    assert ours not in (None, first) and read_record(RunFolder(copy))["run_id"] == ours
    assert (
        f"MLflow: {copy} is a copy of {study}, whose MLflow parent run stays its own; this one gets a new parent run"
        in caplog.text
    )
    assert parent_of(copy) == ours and parent_of(study) == first  # each goes on in its own from now on
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with pytest.raises(TextgruError) as e:
        parent_of(study, other)
    assert str(e.value) == (
        f"{study / 'mlflow_run.json'} names MLflow parent run {first}, which {other} does not hold; go on with "
        f"logger.mlflow.tracking_uri=<the store it was logged to> (it was {store}), or move mlflow_run.json aside and "
        "the search gets a new parent run"
    )
    assert read_record(RunFolder(study))["run_id"] == first
    assert not (tmp_path / "other.db").exists()  # a review: the refused store was made, an empty file left
    moved = f"sqlite:///{shutil.copy(store.removeprefix('sqlite:///'), tmp_path / 'moved.db')}"
    assert parent_of(study, moved) == first and read_record(RunFolder(study))["tracking_uri"] == moved
    assert parent_of(Path(shutil.move(study, tmp_path / "st4")), moved) == first  # a moved folder: not a copy


def test_a_study_run_again_without_logger_mlflow_names_its_parent_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: a `logger=mlflow` study run again without it said nothing, and its new trials never reached its
    parent run: one warning names the parent, its store, and how to go on in it."""
    from omegaconf import OmegaConf

    from textgru.mlflow_parent import parent_run
    from textgru.mlflow_record import write_record
    from textgru.run_folder import RunFolder

    study, uri = tmp_path / "st3", f"sqlite:///{tmp_path / 'mlflow.db'}"
    write_record(RunFolder(study), uri, "1", "f474a577")
    cfg = OmegaConf.create({"logger": {"csv": {}}, "task": {"name": "sentiment"}})
    with caplog.at_level("WARNING", logger="textgru"), parent_run(cfg, study, "search", {}) as parent:
        assert parent.run_id is None
    said = (
        f"MLflow: the search in {study} has MLflow parent run f474a577 in {uri}, which this call's trials are not logged "
        f"to (no logger=mlflow); logger=mlflow logger.mlflow.tracking_uri={uri} continues it"
    )
    assert [r.getMessage() for r in caplog.records] == [said]
    assert not (tmp_path / "mlflow.db").exists()


STOP_SEED_2 = """
import lightning as L


class Stop(L.Callback):  # Ctrl+C at step 3 (after the checkpoint at 2) of the job trained with seed 2
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_batch_end(self, trainer, *args) -> None:
        if self.seed == 2 and trainer.global_step == 3:
            raise KeyboardInterrupt
"""


# a stopped 3-job sweep finished with the two commands its stop printed: five short trainings
def test_a_stopped_sweep_finished_with_the_commands_it_printed_finishes_its_parent_run(
    store: str, small_csv: Path, tmp_path: Path
) -> None:
    """A review: resuming the stopped job and running the job never started rewrote the sweep's summary.csv, not its
    parent run: KILLED with the first job's best, `textgru.failed_jobs='1; 1 not started'` and the first summary,
    and the job run by hand a top-level run (no `mlflow.parentRunId`: the README's snippet missed it). Each job's
    end now refreshes the parent (FINISHED once every job finished), and a job run in the sweep's folder is its
    child; the resumed job goes on in its own run, still a child."""
    (tmp_path / "stop.py").write_text(STOP_SEED_2)
    paths = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]  # the textgru under test, where one is set
    sweep, env, experiment = tmp_path / "sweep", {"PYTHONPATH": os.pathsep.join(paths)}, "finished_by_hand"
    stop = ["+callbacks.stop._target_=stop.Stop", "+callbacks.stop.seed=${seed}"]
    args = _args(store, experiment, small_csv, "trainer.max_epochs=1", "callbacks.checkpoint.every_n_steps=2")
    r = run_script("train", "-m", *args, *stop, "seed=1,2,3", f"hydra.sweep.dir={sweep}", env=env)
    assert r.returncode == 130, r.stderr[-3000:]
    resume, _, first = r.stderr.strip().splitlines()[-1].partition("; run the first: ")
    assert f"textgru train resume={sweep / '1'}; 1 more job(s)" in resume, r.stderr[-2000:]
    client, parent_id = mlflow.MlflowClient(store), json.loads((sweep / "mlflow_run.json").read_text())["run_id"]
    assert client.get_run(parent_id).info.status == "KILLED"
    r = run_script("train", f"resume={sweep / '1'}", "callbacks.stop=null", env=env)  # no _target_ of ours to refuse
    assert r.returncode == 0, r.stderr[-3000:]
    parent = client.get_run(parent_id)  # job 2 still to run
    assert parent.info.status == "KILLED" and parent.data.tags["textgru.failed_jobs"] == "1 not started"
    command = shlex.split(first)
    assert command[:2] == ["textgru", "train"] and command[-1] == f"hydra.run.dir={sweep / '2'}", first
    r = run_script(*command[1:], env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    runs = _runs(store, experiment)
    children = {Path(x.data.tags["textgru.run_dir"]).name: x for x in runs if x.info.run_id != parent_id}
    assert sorted(children) == ["0", "1", "2"] and len(runs) == 4
    assert all(c.data.tags.get("mlflow.parentRunId") == parent_id for c in children.values())
    assert children["1"].data.tags["textgru.resumes"] == "1" and children["1"].info.status == "FINISHED"
    rows = list(csv.DictReader((sweep / "summary.csv").open()))
    assert sorted((row["run"], row["status"]) for row in rows) == [(j, "finished") for j in "012"]
    parent, scores = client.get_run(parent_id), {row["run"]: float(row["val/macro_f1"]) for row in rows}
    assert parent.info.status == "FINISHED" and "textgru.failed_jobs" not in parent.data.tags
    assert parent.data.metrics["best/val/macro_f1"] == pytest.approx(max(scores.values()))
    assert scores[parent.data.tags["textgru.best_run"]] == max(scores.values())
    for name in ("summary.csv", "summary.md"):  # the rewritten summary, not the stop's
        got = client.download_artifacts(parent_id, name, str(tmp_path))
        assert Path(got).read_text() == (sweep / name).read_text()


def test_a_job_in_a_sweeps_folder_joins_its_parent_run_in_the_same_store_only(
    store: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A run in a `-m` sweep's job folder, outside the multirun (a job the stopped sweep never started, run with the
    line its stop printed), is a child of the sweep's parent run; in another store it is a run of its own, warned of;
    a study's trial folder (study.db beside it) and a folder that is no sweep's have no parent."""
    from textgru.mlflow_parent import current_parent
    from textgru.mlflow_record import write_record
    from textgru.run_folder import RunFolder

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    write_record(RunFolder(sweep), store, "1", "abc")
    assert current_parent(store, sweep / "2").run_id == "abc"  # type: ignore[union-attr]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with caplog.at_level(logging.WARNING, logger="textgru"):
        assert current_parent(other, sweep / "2") is None
    assert f"{sweep / '2'} is a job of the sweep in {sweep}, whose parent run is in {store}" in caplog.text
    assert current_parent(store, tmp_path / "elsewhere" / "0") is None
    for not_a_job in ("extra", "0/nested", "02x"):  # a review: any folder under a sweep's joined it, and summed into it
        assert current_parent(store, sweep / not_a_job) is None
    (sweep / "study.db").touch()
    assert current_parent(store, sweep / "trial_000") is None


def test_a_stopped_search_is_killed_with_its_summary(store: str, small_csv: Path, tmp_path: Path) -> None:
    """A review: `textgru tune` stopped by Ctrl+C printed and wrote its summary, but after its MLflow parent had
    closed, so the parent (KILLED) had none of the summary files a finished search attaches."""
    (tmp_path / "killer.py").write_text(KILLER)
    study_dir = tmp_path / "study"
    r = run_script(
        "tune",
        "hparams_search=sentiment",
        *_args(store, "stopped_search", small_csv),
        "+callbacks.killer._target_=killer.Kill",
        "+callbacks.killer.step=2",
        "+callbacks.killer.ctrl_c=true",
        "~hparams_search.params",
        "+hparams_search.params={optimizer.lr: 'choice(0.01, 0.02)'}",
        "n_trials=2",
        f"hydra.run.dir={study_dir}",
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert r.returncode == 130, r.stderr[-3000:]
    assert (study_dir / "summary.csv").is_file(), r.stderr[-3000:]
    (parent,) = [x for x in _runs(store, "stopped_search") if x.data.tags.get("textgru.kind") == "search"]
    assert parent.info.status == "KILLED"
    artifacts = {a.path for a in mlflow.MlflowClient(store).list_artifacts(parent.info.run_id)}
    assert {"summary.csv", "summary.md"} <= artifacts, artifacts


def test_a_run_ctrl_c_stopped_is_killed_not_failed() -> None:
    """textgru turns Lightning's answer to Ctrl+C into TrainingStopped, which MLflow recorded as FAILED (README: KILLED)."""
    from textgru.errors import TextgruError, TrainingStopped
    from textgru.mlflow_record import status_of

    assert [status_of(e) for e in (TrainingStopped("x"), KeyboardInterrupt(), TextgruError("x"), None)] == [
        "KILLED",
        "KILLED",
        "FAILED",
        "FAILED",
    ]


def test_a_tracking_server_that_goes_away_costs_seconds_not_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow retries an HTTP write 7 times with backoff (~4 minutes); a review's run whose server went away stalled at
    every later row and ignored SIGTERM for as long. Now a write retries once, briefly; after a failed write the rows
    wait for the next checkpoint; the user's own MLFLOW_HTTP_REQUEST_* settings win; the environment is left as it was."""
    import os
    import socket
    import time
    from types import SimpleNamespace

    from textgru.mlflow_logger import FlushAtCheckpoint, MLflowMetricsLogger
    from textgru.mlflow_store import WRITE_RETRIES, bounded_http_writes

    for key in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    with socket.socket() as s:  # a port nothing listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logger = MLflowMetricsLogger(f"http://127.0.0.1:{port}", "0" * 32)
    logger.checkpoint_step = 100  # rows for earlier steps are sent at once
    attempts: list[float] = []
    write = logger._write

    def counted() -> None:
        began = time.monotonic()
        write()
        attempts.append(time.monotonic() - began)

    monkeypatch.setattr(logger, "_write", counted)
    logger.log_metrics({"loss": 1.0}, 1)
    assert len(attempts) == 1 and attempts[0] < 15 and logger.store_down  # was ~4 minutes
    for step in range(2, 50):
        logger.log_metrics({"loss": 1.0}, step)
    assert len(attempts) == 1 and len(logger._pending) == 49  # held for the next checkpoint, not retried per row
    FlushAtCheckpoint().on_save_checkpoint(SimpleNamespace(loggers=[logger], global_step=120), None, {})
    assert len(attempts) == 2 and len(logger._pending) == 49
    logger.hold_back, logger.flush_every_s = False, 0  # no checkpoints: by time, and not at every row while down
    for step in range(50, 60):
        logger.log_metrics({"loss": 1.0}, step)
    assert len(attempts) == 2
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    with bounded_http_writes():
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == str(WRITE_RETRIES)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
    with bounded_http_writes():
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "300"
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "300" and "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ


def test_a_damaged_mlflow_record_is_one_line(tmp_path: Path) -> None:
    """resume= of a run whose mlflow_run.json was cut short or edited: a JSONDecodeError / KeyError traceback before."""
    from textgru.mlflow_record import read_record
    from textgru.run_folder import RunFolder

    folder = RunFolder(tmp_path)
    for text, why in (
        ('{"tracking_uri": "sqlite:', "is not JSON"),
        ('{"tracking_uri": "x"}', "is not a record"),
        ("[1]", "is not a record"),
    ):
        folder.mlflow_run.write_text(text)
        with pytest.raises(TextgruError, match=f"mlflow_run.json {why}.*move it aside") as e:
            read_record(folder)
        assert "\n" not in str(e.value)
    folder.mlflow_run.write_text(json.dumps({"tracking_uri": "sqlite:///x.db", "experiment_id": "1", "run_id": "ab"}))
    assert read_record(folder)["run_id"] == "ab"


def test_a_tracking_server_answering_503_is_one_line_at_once(tmp_path: Path) -> None:
    """A server that answers /health with 503 was taken as up; MLflow then retried for ~4 minutes, silently."""
    import http.server
    import threading

    from textgru.mlflow_uri import check_uri

    asked: list[str] = []

    class Busy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(f"GET {self.path}")
            self.send_error(503)

        def do_POST(self) -> None:  # MLflow's calls
            asked.append(f"POST {self.path}")
            self.send_error(503)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(TextgruError, match="the tracking server answers 503"):
            check_uri(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    assert asked == ["GET /health"]  # at once: one question, nothing retried (what, not how long: a shared CI)


def test_a_sqlite_store_where_no_file_can_be_made_is_one_line() -> None:
    """sqlite:////proc/mlflow.db as root (os.access says yes): SQLite's "unable to open database file", no fix named."""
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc")
    from textgru.mlflow_uri import uri_problem

    assert uri_problem("sqlite:////proc/textgru/mlflow.db") == (
        "cannot create the store in /proc: it is not writable; give a writable place for the store"
    )


def test_a_database_url_without_its_driver_names_the_package_to_install() -> None:
    """postgresql:// without psycopg said only "No module named 'psycopg'"."""
    import importlib.util

    if importlib.util.find_spec("psycopg") is not None:
        pytest.skip("psycopg is installed here")
    from textgru.mlflow_store import open_store

    with pytest.raises(TextgruError, match=re.escape("module 'psycopg' (its database driver), which is not installed")):
        open_store("postgresql://user:secret@127.0.0.1:5432/runs")


def test_a_mysql_url_without_its_driver_names_pip_packages_and_a_mysql_url() -> None:
    """A review: mysql:// advised `pip install MySQLdb` (no such package: it is mysqlclient) and a PostgreSQL URL."""
    import importlib.util

    from textgru.mlflow_store import open_store

    if importlib.util.find_spec("MySQLdb") is None:
        with pytest.raises(TextgruError) as e:
            open_store("mysql://u@127.0.0.1:9/runs")
        said = str(e.value)
        assert (
            "pip install mysqlclient; or another driver: pip install pymysql and mysql+pymysql://u@127.0.0.1:9/runs"
            in said
        )
        assert "pip install MySQLdb" not in said and "postgresql" not in said
    from textgru.mlflow_store import missing_driver

    assert missing_driver("postgresql+psycopg2://h/db", "psycopg2").endswith(
        "pip install psycopg2-binary (or psycopg2); or another driver: pip install 'psycopg[binary]' and "
        "postgresql+psycopg://h/db"
    )
    assert missing_driver("mssql://h/db", "pyodbc").endswith("pip install pymssql and mssql+pymssql://h/db")


def _open_and_make_experiment(uri: str) -> str:
    from textgru.mlflow_store import open_store

    try:
        open_store(uri).experiment_id("x", None)
        return "ok"
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def test_two_first_runs_at_once_make_one_store(tmp_path: Path) -> None:
    """A review: two runs started together on a new SQLite store both created its tables; one failed with "(sqlite3.
    OperationalError) duplicate column name: step" (here, without the lock, 6 of 8 openings in 4 rounds failed)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for round_ in range(2):
            uri = f"sqlite:///{tmp_path / str(round_) / 'mlflow.db'}"
            (tmp_path / str(round_)).mkdir()
            assert pool.map(_open_and_make_experiment, [uri, uri]) == ["ok", "ok"]


def test_the_artifact_schemes_textgru_knows_are_mlflows() -> None:
    """`logger.mlflow.artifact_location` is checked without importing MLflow, against its artifact stores' schemes."""
    from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry as registry

    from textgru.mlflow_uri import ARTIFACT_SCHEMES

    assert set(registry._registry) - {""} == ARTIFACT_SCHEMES


def test_an_artifact_location_for_an_existing_experiment_is_named_as_unused(
    tmp_path: Path, caplog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: the location, an experiment's own (set when it is made), was ignored without a word."""
    from textgru.mlflow_store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    first = store.experiment_id("e", str(tmp_path / "a"))
    with caplog.at_level(logging.WARNING, logger="textgru"):
        assert store.experiment_id("e", str(tmp_path / "a")) == first and "not used" not in caplog.text
        monkeypatch.chdir(tmp_path)  # the same folder, relative (a review: it was named as unused)
        assert store.experiment_id("e", "a") == first and store.experiment_id("e", "a/") == first
        assert "not used" not in caplog.text
        assert store.experiment_id("e", str(tmp_path / "b")) == first
    assert (
        f"artifact_location={tmp_path / 'b'} is not used: experiment 'e' exists, with its artifacts at" in caplog.text
    )


def test_params_hold_a_data_file_named_with_a_dollar_as_named() -> None:
    """A review: with data.path='data/a\\${x}.csv', MLflow recorded the escaped name .../a\\${x}.csv."""
    from omegaconf import OmegaConf

    from textgru.config_literals import resolved_yaml
    from textgru.mlflow_store import config_params

    cfg = OmegaConf.create({"data": {"path": "/d/a\\${x}.csv"}, "model": {"lr": 0.001, "sizes": [1, 2]}})
    params = config_params(resolved_yaml(cfg))
    assert params["data.path"] == "/d/a${x}.csv" and params["model.lr"] == "0.001", params


def test_artifacts_that_cannot_be_stored_are_named_as_artifacts_and_the_metrics_still_go(
    store: str, small_csv: Path, tmp_path: Path
) -> None:
    """A review: an artifact location that cannot be written warned of "the final metrics or artifacts"; the final
    metrics did go, only the artifacts did not, which the run folder keeps."""
    (tmp_path / "a_file").write_text("not a folder")
    r = run_script(
        "train",
        *_args(store, "no_artifacts", small_csv, "trainer.max_epochs=1", f"hydra.run.dir={tmp_path / 'run'}"),
        f"logger.mlflow.artifact_location={tmp_path / 'a_file' / 'artifacts'}",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    (run,) = _runs(store, "no_artifacts")
    assert re.search(
        rf"MLflow: could not log the artifacts \(the run folder keeps them\) of run {run.info.run_id}: ", r.stderr
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert run.data.metrics["test/macro_f1"] == pytest.approx(metrics["test/macro_f1"], rel=1e-12)


def test_a_store_path_a_url_reads_otherwise_or_in_a_read_only_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: paths.output_dir=q?x made the default store the file q (the rest read as a query), a%20b was read as
    'a b'; an existing store in a folder that cannot be written (SQLite's journal goes there) ran on to 85 lines of
    SQLAlchemy tracebacks after the data loaded. Root can write anywhere: the folder's refusal is simulated."""
    import os

    from textgru.config import compose_config
    from textgru.config_checks import check_config
    from textgru.mlflow_uri import uri_problem

    for folder in ("q?x", "a%20b"):
        cfg = compose_config("train", ["logger=mlflow", f"paths.output_dir={tmp_path / folder}"])
        with pytest.raises(TextgruError, match=r"has a \? or a %XX in its path, which a URL reads as a query or an"):
            check_config(cfg, "train")
    assert not list(tmp_path.iterdir())
    assert uri_problem(f"sqlite:///{tmp_path}/q?x.db") is not None  # the file q, too
    for fine in ("m.db?timeout=20", "exp#3/m.db", "lr_100%/m.db"):  # a query of its own; # and a lone % are kept as
        assert uri_problem(f"sqlite:///{tmp_path}/{fine}") is None, fine  # written (a review of the change)
    store = tmp_path / "ro" / "mlflow.db"
    store.parent.mkdir()
    store.write_bytes(b"")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: real(p, mode) and Path(p) != store.parent)
    assert uri_problem(f"sqlite:///{store}") == (
        f"names {store}, whose folder is not writable (SQLite writes a journal beside it); give a writable place"
    )
