"""Optuna search over textgru configs: `hparams_search.params` (Hydra Optuna-sweeper syntax) become trial
suggestions, each trial is one `train()` run in the study folder; the study lives in SQLite there, so
calling again resumes it; the best parameters are written as an experiment YAML."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import optuna
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn
from omegaconf import DictConfig, OmegaConf

from textgru.call_state import also_logged_to
from textgru.config_checks import check_config
from textgru.data.hub import fetch_hub_source
from textgru.distributed import check_trainer_devices, launched_externally
from textgru.errors import TextgruError, TrainingStopped
from textgru.interrupted_trials import PRUNED_AT, settle_interrupted_trials
from textgru.mlflow_parent import parent_run
from textgru.mlflow_store import open_store, overrides_as_params
from textgru.mlflow_uri import resolve_uri
from textgru.optimized_metric import check_optimized_metric
from textgru.resource_errors import resource_problem
from textgru.run_lock import STUDY_BUSY, in_use
from textgru.search_space import (
    check_same_settings,
    check_search_space,
    compared_overrides,
    compose_trial,
    run_dir_override,
    search_override,
    study_direction,
    trial_base,
)
from textgru.study_folder import check_study_folder, study_storage
from textgru.study_space import check_same_space, suggest
from textgru.tasks import task_module
from textgru.training import train

log = logging.getLogger(__name__)


class PruneOnValidation(Callback):
    """Optuna pruning from Lightning: after each validation rank zero reports the monitored metric to the trial
    (step = the validation's index) and asks the pruner; the answer is broadcast so every rank stops together.
    A pruned run still ends normally (its best checkpoint is tested); the tuner then marks the trial pruned.
    Sent to spawned ranks, it carries only the study's address and the trial's id: rank zero reopens the
    trial from the study's storage, and no other rank touches the database."""

    def __init__(self, trial: optuna.Trial, monitor: str, storage_url: str) -> None:
        self.trial: optuna.Trial | None = trial
        self.monitor, self.storage_url = monitor, storage_url
        self.study_name, self.trial_id, self.number = trial.study.study_name, trial._trial_id, trial.number
        self.pruner = trial.study.pruner
        self.validations = 0

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "trial": None}

    @property
    def stopped_by(self) -> str | None:
        """ "pruned" once the pruner stopped the run (metrics.json's `stopped_by`), as the study stores it: under
        data-parallel training rank zero of the worker processes decided it."""
        return "pruned" if _stored_user_attrs(self._trial().study, self.number).get(PRUNED_AT) is not None else None

    def _trial(self) -> optuna.Trial:
        if self.trial is None:
            study = optuna.load_study(study_name=self.study_name, storage=self.storage_url, pruner=self.pruner)
            self.trial = optuna.trial.Trial(study, self.trial_id)
        return self.trial

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:  # not the re-scoring after training
            return
        step, self.validations = self.validations, self.validations + 1
        prune = False
        if trainer.is_global_zero:
            value = trainer.callback_metrics.get(self.monitor)
            if value is not None:
                trial = self._trial()
                trial.report(float(value), step)
                prune = trial.should_prune()
                if prune:
                    trial.set_user_attr(PRUNED_AT, step)
        if trainer.strategy.broadcast(prune):
            log.info("trial %d pruned after validation %d (%s)", self.number, step, self.monitor)
            trainer.should_stop = True
            trainer.fit_loop.min_epochs = 0  # stop now: trainer.min_epochs=1 kept a trial pruned within its first
            trainer.fit_loop.epoch_loop.min_steps = None  # epoch training to its end (a review)


def _stored_user_attrs(study: optuna.Study, number: int) -> dict[str, Any]:
    """A running trial's user attributes as stored: with `ddp_spawn` a worker process wrote them, and this
    process's `Trial` object keeps its own cached copy."""
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    return next((t.user_attrs for t in running if t.number == number), {})


def study_pruner(spec: Any) -> optuna.pruners.BasePruner:
    """`hparams_search.pruner` as a pruner; null prunes nothing (a review: Optuna took None for its default median
    pruner, so `pruner=null` still pruned)."""
    return instantiate(spec) or optuna.pruners.NopPruner()


def _open_study(name: str, study_dir: Path, direction: str, pruner: Any) -> optuna.Study:
    """The study `name` in `study_dir/study.db`, created or loaded; one line for a file SQLite cannot read, or a
    stored study that optimises the other way."""
    try:
        study = optuna.create_study(
            study_name=name,
            storage=study_storage(study_dir),
            load_if_exists=True,
            direction=direction,
            pruner=pruner,
        )
    except Exception as e:  # SQLAlchemy's errors for a corrupt file, a folder, a database of another program
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise TextgruError(
            f"{study_dir / 'study.db'} cannot be read as an Optuna study ({first}); move it aside, or give another "
            "study folder (hydra.run.dir=)"
        ) from None
    if study.direction.name.lower() != direction:
        raise TextgruError(
            f"the study stored in {study_dir} is to {study.direction.name.lower()}, and this search would "
            f"{direction}: a study keeps its direction; give a new hparams_search.study_name= (or another "
            "hydra.run.dir=, where you gave one)"
        )
    return study


def tune(
    cfg: DictConfig, overrides: list[str], config_name: str = "train", space: dict[str, Any] | None = None
) -> optuna.Study:
    """Run `hparams_search.n_trials` more trials of the study in `cfg.paths.run_dir` (created or resumed); `space`:
    what `search_space.check_search_space` returned for `cfg`, when the caller has checked it already."""
    check_config(cfg, "train")
    search = cfg.hparams_search
    if launched_externally():
        raise TextgruError(
            "run tune.py as one process (not under torchrun or srun): each trial starts its own "
            "data-parallel ranks (trainer=ddp or ddp_cpu)"
        )
    space = space or check_search_space(cfg, overrides, config_name)
    check_optimized_metric(cfg, task_module(cfg.task.name).validation_metrics(cfg))  # a review: every trial failed
    check_trainer_devices(cfg)  # as train checks before any work (a review: each trial failed, in a study made)
    base = trial_base(overrides)
    study_dir = Path(cfg.paths.run_dir)
    direction = study_direction(cfg)
    check_study_folder(study_dir, str(search.study_name))
    if not any(key.startswith("data.") for key in space):  # every trial reads this data: a Hub one is fetched now
        fetch_hub_source(OmegaConf.to_container(cfg.data, resolve=True))  # offline, not cached: one line, no study
    if cfg.logger.get("mlflow"):  # logger=mlflow: a store that cannot be used is one line before study.db is made
        open_store(resolve_uri(cfg.logger.mlflow.tracking_uri), new_run=True)  # a new SQLite file: not made yet
    with in_use(
        study_dir, STUDY_BUSY
    ):  # before the study is read or a line said (a review: a refused second call logged
        return _search(cfg, study_dir, space, base, config_name, direction)  # "running 1 more" into the first's log)


def _search(
    cfg: DictConfig, study_dir: Path, space: dict[str, Any], base: list[str], config_name: str, direction: str
) -> optuna.Study:
    """The study's trials, with its folder locked."""
    search = cfg.hparams_search
    study_dir.mkdir(parents=True, exist_ok=True)
    storage_url = study_storage(study_dir)
    pruner = study_pruner(search.pruner)
    sampler_cfg = OmegaConf.to_container(search.sampler, resolve=True)
    instantiate(search.sampler)  # refused before study.db is made, naming hparams_search.sampler (not config.*)
    study = _open_study(str(search.study_name), study_dir, direction, pruner)
    check_same_space(study, space, study_dir)
    given = [o.partition("=")[0].lstrip("+~") for o in base]
    check_same_settings(study, compose_trial(config_name, compared_overrides(study, base, space)), study_dir, given)
    done = len(study.trials)
    if sampler_cfg.get("seed") is not None:  # a resumed study must not draw its first trials' parameters again
        sampler_cfg["seed"] = int(sampler_cfg["seed"]) + done
    study.sampler = instantiate(sampler_cfg)
    n_trials = int(cfg.get("n_trials") or search.n_trials)
    what = (search.study_name, study_dir, done, n_trials, direction, cfg.optimized_metric)
    log.info("study %s in %s: %d trials stored, running %d more (%s %s)", *what)
    study_tags = {"optuna.study_name": str(search.study_name)}
    search_params = {**overrides_as_params(base), "direction": direction, "n_trials": str(n_trials)}  # this call's
    with parent_run(cfg, study_dir, "search", search_params, study_tags) as parent:
        for number, state in settle_interrupted_trials(study, study_dir, str(cfg.optimized_metric)):
            parent.record_trial(study_dir / f"trial_{number:03d}", number, state, interrupted=state == "FAIL")
        for _ in range(n_trials):
            trial = study.ask()
            params = {key: suggest(trial, key, spec) for key, spec in space.items()}
            run_dir = study_dir / f"trial_{trial.number:03d}"
            picked = [search_override(k, v) for k, v in params.items()]
            chosen = " ".join(picked)
            log.info("trial %d: %s", trial.number, chosen)
            try:  # (composed in here: a config that fails to compose is a failed trial, not one left running)
                trial_cfg = compose_trial(config_name, [*base, *picked, run_dir_override(run_dir)])
                with (
                    also_logged_to(run_dir / "train.log"),
                    parent.child({**study_tags, "optuna.trial_number": str(trial.number), "textgru.overrides": chosen}),
                ):
                    pruning = PruneOnValidation(trial, cfg.optimized_metric, storage_url)
                    metrics = train(trial_cfg, extra_callbacks=[pruning], in_sweep=True)
            except TrainingStopped:  # Ctrl+C or SIGTERM: the search stops; its next call takes up this trial
                raise TrainingStopped(
                    f"the search was stopped in trial {trial.number} (Ctrl+C or SIGTERM); the same textgru tune command "
                    "goes on with it"
                ) from None
            except Exception as e:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                if resource_problem(e):  # a full disk, memory: every later trial would fail too; this one runs again
                    study.enqueue_trial(trial.params, skip_if_exists=False)
                    raise
                parent.record_trial(run_dir, trial.number, "FAIL", params)
                known = isinstance(e, TextgruError)  # one line; anything else with its type and traceback
                with also_logged_to(run_dir / "train.log"):  # its own log says why too (a review: only tune.log)
                    why = e if known else f"{type(e).__name__}: {e}"
                    log.warning("trial %d failed: %s", trial.number, why, exc_info=not known)
                continue
            if _stored_user_attrs(study, trial.number).get(PRUNED_AT) is not None:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, metrics[cfg.optimized_metric])
            parent.record_trial(run_dir, trial.number, study.trials[trial.number].state.name)
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        rows = [{"run": f"trial_{t.number:03d}", cfg.optimized_metric: t.value} for t in complete]
        parent.log_best(str(cfg.optimized_metric), str(cfg.optimized_mode), rows)
        if failed := [f"trial_{t.number:03d}" for t in study.trials[done:] if t.state.name == "FAIL"]:
            parent.set_tag("textgru.failed_jobs", ", ".join(failed))  # as a -m sweep's parent (a review: FINISHED)
            parent.end("FAILED")
    return study
