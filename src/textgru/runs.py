"""Train and sweep from Python (a notebook, a service): the config is composed in-process with Hydra's compose
API, then trained by the same `textgru.training.train` that `scripts/train.py` runs."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textgru.call_state import caller_state_kept, log_to_file, only_call
from textgru.class_arguments import check_added_arguments
from textgru.config import compose_config
from textgru.config_checks import check_config, problem
from textgru.config_lookup import Unresolved, lookup
from textgru.config_path_rules import Folder, static_folder
from textgru.console import command_arg
from textgru.distributed import launched_externally, process_rank
from textgru.errors import TextgruError, TrainingStopped
from textgru.hydra_files import save_hydra_files, save_multirun_config
from textgru.python_overrides import folder_arg, is_sweep, override_list
from textgru.run_folder import RunFolder, resume_target
from textgru.run_lock import claim, release
from textgru.unstarted_runs import note_run_dir, outermost_missing, remove_if_unstarted


@dataclass(frozen=True)
class TrainResult:
    """A finished run: its folder (checkpoints, metrics.json, plots) and its final validation and test metrics."""

    run_dir: Path
    metrics: dict[str, Any]  # numbers, and words: stopped_by
    overrides: list[str] = field(default_factory=list)

    @property
    def best_checkpoint(self) -> Path:
        """`<run_dir>/checkpoints/best.ckpt`, ready for `textgru.load`."""
        return self.run_dir / "checkpoints" / "best.ckpt"


def train(
    overrides: Sequence[str] = (), config_name: str = "train", run_dir: str | os.PathLike[str] | None = None
) -> TrainResult:
    """Train and test one model, as `python scripts/train.py <overrides>` would, in this process.

    `overrides` use the command line's syntax, e.g. `["task=sentiment", "model.hidden_size=128"]`. The run
    folder is `run_dir`, else the config's `hydra.run.dir` (outputs/<task>/<date>/<time>, with -1, -2, ...
    added when that folder exists; relative to the current folder, kept absolute). Bad input raises
    `TextgruError` with one line. Several processes (`trainer=ddp_cpu`) are spawned (forked in a notebook). One
    call at a time in a process (another thread's call is refused): train in another process to run two at once."""
    with only_call(), caller_state_kept():  # from before the imports: importing Lightning draws from `random`
        overrides = override_list(overrides, "train")
        if (target := resume_target(overrides)) is not None:  # `resume=<run folder>`: as `textgru train resume=`
            return _resume(target, overrides, config_name, run_dir)
        return _train(overrides, config_name, folder_arg(run_dir, "run_dir"))


def _resume(target: tuple[RunFolder, Path], overrides: list[str], config_name: str, run_dir: Any) -> TrainResult:
    from textgru.data.labelled import datasets_quiet
    from textgru.resume import resume_config
    from textgru.summarised_runs import update_sweep_summary
    from textgru.training import train as train_config

    if run_dir is not None or config_name != "train":
        raise TextgruError(
            "resume= continues a run in its own folder, with its own config; leave out run_dir= and config_name="
        )
    run, checkpoint = target
    rest = [o for o in overrides if o.partition("=")[0] not in ("resume", "ckpt_path")]
    try:  # a review: the checks of the run's config named the command line's words
        cfg = resume_config(run, checkpoint, rest)
        with log_to_file(run.train_log), datasets_quiet():
            metrics = train_config(cfg, in_sweep=True, resume_from=checkpoint)  # ddp spawns: no re-run of the caller
            update_sweep_summary(run.path, cfg)
    except (TextgruError, TrainingStopped) as e:
        raise _in_pythons_words(e, run.path) from None
    return TrainResult(run.path, metrics, rest)


def _in_pythons_words(error: TextgruError | TrainingStopped, folder: Path) -> TextgruError | TrainingStopped:
    """`error` naming `textgru.train(['resume=...', ...])` where it named the command line's `textgru train resume=...
    key=value`."""
    pair = r"[\w.+~]+=(?:<[^>]*>|\S+)"  # key=value, or key=<what to give>
    cli = re.escape(f"textgru train {command_arg('resume', folder)}") + rf"((?: {pair})*)"

    def words(found: re.Match[str]) -> str:
        return f"textgru.train({[f'resume={folder}', *re.findall(pair, found.group(1))]!r})"

    return type(error)(re.sub(cli, words, str(error)))


def _train(overrides: list[str], config_name: str, run_dir: str | os.PathLike[str] | None) -> TrainResult:
    from omegaconf import OmegaConf, open_dict

    from textgru.data.labelled import datasets_quiet
    from textgru.summarised_runs import update_sweep_summary
    from textgru.training import train as train_config

    if config_name != "train":  # a command's (eval, serve ...) or none (a review: a list offered eval, serve ...)
        raise TextgruError(f"config_name {config_name!r} is not a training config; leave it out (or give 'train')")
    if run_dir is not None and (given := next((o for o in overrides if _key(o) == "hydra.run.dir"), None)):
        raise TextgruError(f"{given} and run_dir= both name the run's folder; give one (a review: it was dropped)")
    sweeps = [o for o in overrides if is_sweep(o)]
    if sweeps:
        key, _, value = sweeps[0].partition("=")
        raise TextgruError(
            f"train() runs one config, but {sweeps} is a sweep; use textgru.sweep() for several values, or quote "
            f"a value that holds a comma: {key}='{value}'"
        )
    cfg = compose_config(config_name, overrides, return_hydra_config=True)
    given = run_dir if run_dir is not None else static_folder(OmegaConf.to_container(cfg.hydra.run)["dir"])
    key = "run_dir" if run_dir is not None else "hydra.run.dir"  # a review: the latter, under a file, a traceback
    if given is not None and (message := problem(key, str(given), Folder())):
        raise TextgruError(message)
    check_config(cfg, "train", run_dir=given)  # before the run folder is made: a wrong value leaves nothing behind
    check_added_arguments(overrides, cfg)  # a review: `+trainer.foo=1` failed once the data was read
    if run_dir is None and isinstance(named := lookup(cfg, "hydra.run.dir"), Unresolved):  # a review: a traceback
        typed = OmegaConf.to_container(cfg.hydra.run)["dir"]  # type: ignore[index]
        raise TextgruError(f"hydra.run.dir={typed} cannot be resolved: {named.reason}")
    folder = Path(run_dir).expanduser() if run_dir is not None else Path(str(cfg.hydra.run.dir))  # a fresh folder
    folder = folder.absolute()  # config.yaml and the result name it from anywhere (`..` kept: after a link, as Hydra)
    run = RunFolder(folder)
    fix = "pass another run_dir= so nothing is overwritten"
    alone = not launched_externally()  # no launcher (torchrun, SLURM) wrote there before this process
    run.refuse_if_used(fix, before_start=alone, training=True)
    with open_dict(cfg):
        cfg.paths.run_dir = str(folder)
    made = outermost_missing(folder)
    if made is None:
        note_run_dir(folder)  # the user's folder: what it holds now stays, what this call adds goes on a refusal
    if process_rank() == 0:  # before anything is written there (a review: a refused second call had overwritten the
        claim(folder, "wait for it to end, or pass another run_dir=")  # first's .hydra/); kept till the call ends
    try:
        run.refuse_if_used(fix, before_start=alone, training=True)  # again: the run that held it may have ended
        save_hydra_files(run, cfg, overrides)  # as Hydra's app does (a review: overrides.yaml alone)
        with log_to_file(run.train_log), datasets_quiet():
            metrics = train_config(cfg, in_sweep=True)
            if process_rank() == 0:  # a job a stopped sweep never started, run by hand (a review: "not started")
                update_sweep_summary(folder, cfg)
    except (TextgruError, KeyboardInterrupt) as e:  # refused, or stopped while reading its data: nothing left
        remove_if_unstarted(folder, made=made, close_logs=False)  # (a run that wrote files of its own keeps them)
        if isinstance(e, (TextgruError, TrainingStopped)):
            raise _in_pythons_words(e, folder) from None
        raise
    finally:
        release(folder)
    return TrainResult(folder, metrics, overrides)


def sweep(
    overrides: Sequence[str] = (), config_name: str = "train", sweep_dir: str | os.PathLike[str] | None = None
) -> list[TrainResult]:
    """Every combination of the sweep overrides (`["model.hidden_size=64,128", "seed=1,2"]`, the syntax of
    `scripts/train.py -m`), trained one after another in folders `<sweep_dir>/0, 1, ...`; writes `summary.csv`
    and `summary.md` (best `optimized_metric` first) in `sweep_dir`. A run that fails raises at once, naming its job,
    with the summary of the jobs before it written."""
    # before composing (another thread's call may use Hydra's global state) and the imports (rich draws from `random`)
    with only_call(), caller_state_kept():
        return _sweep(override_list(overrides, "sweep"), config_name, folder_arg(sweep_dir, "sweep_dir"))


def _sweep(overrides: list[str], config_name: str, sweep_dir: str | os.PathLike[str] | None) -> list[TrainResult]:
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from textgru.mlflow_parent import parent_run
    from textgru.mlflow_record import status_of
    from textgru.mlflow_store import overrides_as_params
    from textgru.mlflow_sweep import same_store
    from textgru.override_values import check_grid_sweep, check_sweeps_not_given_again
    from textgru.sweep_jobs import hydra_sweep_rows, stopped_sweep_rows
    from textgru.sweep_summary import refuse_used_sweep_folder, write_summary

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as e:
        raise TextgruError(str(e).splitlines()[0]) from e
    check_sweeps_not_given_again(parsed)  # a review: sweep(["seed=1,2", "seed=3"]) ran one job, unsaid
    for override in parsed:
        check_grid_sweep(override)
        if (key := override.get_key_element().lstrip("+")) == "hydra.run.dir":  # a review: ignored, as by train -m
            raise TextgruError("hydra.run.dir= names one run's folder, and a sweep does not read it: give sweep_dir=")
        if key == "hydra.sweep.subdir":  # a review: these three were ignored, the subdir recorded mangled
            raise TextgruError("sweep() names its jobs' folders 0, 1, 2 ...; leave hydra.sweep.subdir= out")
        if key == "hydra.sweep.dir" and sweep_dir is not None:
            raise TextgruError("hydra.sweep.dir= and sweep_dir= both name the sweep's folder; give one")
        if key == "resume":
            raise TextgruError("sweep() starts new runs; resume a run with textgru.train(['resume=<run folder>'])")
    jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    for job in jobs:  # every job's keys, values, metrics and optimizer keys are checked before the first one trains
        _check_job(job, compose_config(config_name, job))
    first = compose_config(config_name, jobs[0], return_hydra_config=True)
    for job in jobs[1:]:  # the parent run is in the first job's store (a review: `paths.output_dir=a,b`)
        same_store(first, compose_config(config_name, job), " ".join(o for o in job if o not in jobs[0]))
    folder = (Path(sweep_dir).expanduser() if sweep_dir is not None else Path(str(first.hydra.sweep.dir))).absolute()
    setting = "sweep_dir" if sweep_dir is not None else "hydra.sweep.dir"
    if message := problem(setting, str(folder), Folder()):  # a review: a folder under a file, a traceback
        raise TextgruError(message)
    refuse_used_sweep_folder(folder, setting)
    folder.mkdir(parents=True, exist_ok=True)  # its own: a failed first job took the new folder away with its own
    metric, mode = str(first.optimized_metric), str(first.optimized_mode)
    tags = {"textgru.overrides": " ".join(overrides)}
    with parent_run(first, folder, "sweep", overrides_as_params(overrides), tags) as parent:  # logger=mlflow
        results: list[TrainResult] = []
        save_multirun_config(folder, first, overrides)  # once its parent run is made (that may be refused)
        try:
            for i, job in enumerate(jobs):
                results.append(train(job, config_name, run_dir=folder / str(i)))
        except BaseException as e:  # a review: no summary of the jobs that ran, and which job failed (nor, for an
            i, stopped = len(results), status_of(e) == "KILLED"  # error not foreseen, any summary at all)
            if rows := stopped_sweep_rows(folder, jobs, i, failed=not stopped):
                write_summary(folder, rows, metric, mode)
                parent.log_summary(folder, metric, mode, rows)  # a review: the parent had none for a failed job
            done = f"; the {i} job(s) before it are summarised in {folder / 'summary.md'}" if i else ""
            if stopped and isinstance(e, TrainingStopped) and i + 1 < len(jobs):  # the run to resume, and the next
                then = f"textgru.train({jobs[i + 1]!r}, run_dir={str(folder / str(i + 1))!r})"
                raise TrainingStopped(
                    f"{e}; {len(jobs) - i - 1} more job(s) never started; run the next: {then}"
                ) from None
            if stopped:  # Ctrl+C: its line names the run to resume
                raise
            if not isinstance(e, TextgruError):  # its type and traceback, the job named below them
                e.add_note(f"sweep job {i} ({' '.join(jobs[i])}) failed{done}")
                raise
            raise TextgruError(f"sweep job {i} ({' '.join(jobs[i])}) failed: {e}{done}") from None
        rows = hydra_sweep_rows(folder)
        write_summary(folder, rows, metric, mode)
        parent.log_best(metric, mode, rows)
        parent.log_files([folder / "summary.csv", folder / "summary.md"])
    return results


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def _check_job(job: list[str], cfg: Any) -> None:
    """What a sweep's job checks before its data loads: values, metrics, the optimizer's and schedule's keys, the
    arguments `+` adds to a class (each job's own class: `optimizer=adamw,sgd +optimizer.nesterov=true`)."""
    from textgru.optimized_metric import check_optimized_metric
    from textgru.tasks import task_module
    from textgru.tasks.base import build_optimizer, build_scheduler

    check_config(cfg, "train")
    check_added_arguments(job, cfg)
    check_optimized_metric(cfg, task_module(cfg.task.name).validation_metrics(cfg))
    build_optimizer(cfg)
    build_scheduler(cfg)
