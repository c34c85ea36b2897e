"""Continuing a killed run (`textgru train resume=<run folder>`): its own `config.yaml` with the overrides given now,
checked before anything runs, and its folder made ready (best checkpoint back, CSV log cut back to the checkpoint's
step). The checkpoint's own state is restored by Lightning and `checkpointing.ExactResume`.

A run folder's `config.yaml` is read as data: each `_target_` must be one textgru's configs (or yours, in `./conf`
or `--config-dir`) name, with no interpolation: a shared or altered folder cannot make `resume=` call anything else."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict

from textgru.added_keys import passed_through
from textgru.atomic_files import write_text_atomic
from textgru.class_arguments import check_added_arguments
from textgru.config_checks import check_config
from textgru.config_literals import check_literal_run_folder
from textgru.config_typos import resume_key_problem
from textgru.console import command_arg
from textgru.distributed import process_rank
from textgru.errors import TextgruError
from textgru.hydra_files import group_choices
from textgru.resumed_checkpoints import check_saved_best, keep_a_later_last
from textgru.resumed_data import check_same_data
from textgru.resumed_overrides import group_choice, override_value
from textgru.run_folder import RunFolder, restore_unfinished_best, unquoted
from textgru.run_lock import refuse_if_in_use
from textgru.saved_config import (
    RESTORE_CONFIG,
    check_config_targets,
    fixed_on_resume,
    read_saved_config,
    refuse_hand_edits,
    same_setting,
)
from textgru.stopping import check_can_train_on
from textgru.summarised_runs import warn_if_summarised
from textgru.sweep_jobs import refuse_sweep_folder

log = logging.getLogger(__name__)


def resume_config(run: RunFolder, checkpoint: Path, overrides: Sequence[str], dirs: Sequence[str] = ()) -> DictConfig:
    """The run's `config.yaml` with `key=value` overrides applied (e.g. a larger `trainer.max_epochs`), pointed at
    the folder as it is reached now; one line for anything that cannot be resumed. `dirs`: the command's
    `--config-dir DIR` flags, whose configs' `_target_`s the run may name, like `./conf`'s."""
    _refuse_if_not_a_run(run)
    if process_rank() == 0:  # before the rest: a run in use may not have its checkpoint yet (rank zero holds the lock)
        refuse_if_in_use(run.path, "wait for it to end")
    cfg = read_saved_config(run.config)
    refuse_hand_edits(cfg, run)
    started_with = run.hydra_overrides  # the command line that started the run may be repeated as it was
    original = set(yaml.safe_load(started_with.read_text()) or []) if started_with.is_file() else set()
    chosen = group_choices(run)  # the run's config groups, default or given (task=sentiment may be repeated)
    absent = object()
    for override in overrides:
        key, eq, value = override.partition("=")
        if key.lstrip("+") == "hydra.run.dir" and Path(unquoted(value)).expanduser().resolve() != run.path.resolve():
            raise TextgruError(
                f"resume: a resumed run goes on in its own folder {run.path}, not in hydra.run.dir={value}; "
                "leave hydra.run.dir= out (to train in another folder, start a new run)"
            )
        existing = OmegaConf.select(cfg, key.lstrip("+"), default=absent)
        same_group = override in original or chosen.get(key.lstrip("+")) == unquoted(value)
        if key.startswith("hydra.") or (same_group and group_choice(existing, value)):
            continue  # the starting command's group choices (model=..., experiment=...) may be repeated; its values
            # are applied again in order, so `trainer.max_epochs=3 ... trainer.max_epochs=500` still ends at 500
        if why := fixed_on_resume(key):  # the run's own value repeated (a path however written) is kept as saved
            if not same_setting(key, override_value(override), existing):
                raise TextgruError(
                    f"resume: {override!r} cannot change a resumed run: {why}; start a new run to change it"
                )
            continue
        if not eq or (existing is absent and not (key.startswith("+") and passed_through(key.lstrip("+"), cfg))):
            addable = passed_through(key.lstrip("+~"), cfg)  # a review: +data.max_lenght=8 was taken
            raise TextgruError(resume_key_problem(override, cfg, run.config, addable))
        mapping_value = key.lstrip("+") == "trainer.max_time"  # {minutes: 90} is a value, not a config group
        callback_off = value == "null" and re.fullmatch(r"\+?callbacks\.[^.]+", key) is not None
        if callback_off and key.lstrip("+") == "callbacks.model_checkpoint" and isinstance(existing, DictConfig):
            raise TextgruError(  # a review: Lightning's default took over, and best.ckpt stayed the one before
                f"resume: {override!r} would stop keeping the best checkpoint part-way: checkpoints/best.ckpt would "
                "stay the best before the resume, and the run be scored on other weights; start a new run to turn it off"
            )
        if isinstance(existing, DictConfig) and not callback_off and not mapping_value:  # a review: model=null
            raise TextgruError(
                f"resume: {override!r} would swap the config group {key}; a resumed run keeps the run's groups: "
                f"change single values instead (e.g. {key}.<name>=...)"
            )
        OmegaConf.update(cfg, key.lstrip("+"), override_value(override), force_add=True)
    check_added_arguments([o for o in overrides if o not in original], cfg)  # a review: +trainer.foo=1 failed late
    check_resumable(run, checkpoint, cfg.get("trainer") or {})  # a finished run: only with a limit raised
    check_config_targets(cfg, run.config, dirs)  # what will be instantiated: the config with the overrides
    with open_dict(cfg):  # the folder as given now (it may have been moved or be reached by another path)
        cfg.paths.run_dir = str(run.path)
        for callback in cfg.callbacks.values():
            if callback is not None and "dirpath" in callback:
                callback.dirpath = str(run.checkpoints)
    check_config(cfg, "train", resumed=True)  # the run's values with the overrides given now
    return cfg


def check_resumable(run: RunFolder, checkpoint: Path, trainer_now: Any) -> None:
    """One line unless `run` is a textgru run with `checkpoint` to continue from: an unfinished run, or a finished
    one that a trainer limit stopped and `trainer_now` (the trainer config it would go on with) raises."""
    _refuse_if_not_a_run(run)
    warn_if_summarised(run.path)
    if run.metrics.exists():
        before = (yaml.safe_load(run.config.read_text(encoding="utf-8")) or {}).get("trainer") or {}
        check_can_train_on(run.read_metrics(), before, trainer_now, run.path)
    if not checkpoint.is_file():
        which = checkpoint.relative_to(run.path) if checkpoint.is_relative_to(run.path) else checkpoint
        other = next((p for p in (run.unfinished_best, run.best_checkpoint) if p.is_file()), None)
        if other is not None:  # a review: "stopped before its first checkpoint" of a deleted last.ckpt
            raise TextgruError(
                f"{run.path} has no {which} (deleted?); go on from its best: textgru train "
                + command_arg("ckpt_path", other)
            )
        why = "(stopped before its first checkpoint, or deleted); start it again: delete the folder first, or elsewhere"
        raise TextgruError(f"{run.path} has no {which} to resume from {why}")


def _refuse_if_not_a_run(run: RunFolder) -> None:
    check_literal_run_folder(run.path)
    held = next((p for p in (run.last_checkpoint, run.unfinished_best, run.best_checkpoint) if p.is_file()), None)
    if not run.config.is_file() and held is not None:  # a review: called "stopped before it started", delete it
        raise TextgruError(f"{run.path} has no config.yaml, but holds {held.relative_to(run.path)}; {RESTORE_CONFIG}")
    if not run.config.is_file():  # with .hydra/ alone: killed while reading its data, nothing trained
        refuse_sweep_folder(run.path)
        raise TextgruError(
            f"{run.path} holds a run stopped before it started (no config.yaml, no checkpoint): there is nothing to "
            "resume; delete the folder and start the run again"
            if run.hydra_overrides.is_file()
            else f"{run.path} has no config.yaml, so it is not a textgru run folder"
        )
    if (link := _link_outside(run)) is not None:
        raise TextgruError(
            f"{link} links to {link.resolve()}, outside the run folder: a resume would write there; copy it into the "
            "run folder instead (or link the whole run folder)"
        )


def _link_outside(run: RunFolder) -> Path | None:
    """The first link in the run folder (or its logs/, .hydra/) that leads outside it, where a resume would write (a
    review: a received folder's checkpoints/, logs/ or train.log linked into another run made a resume change it)."""
    inside = run.path.resolve()
    entries = [p for d in (run.path, run.logs, run.path / ".hydra") if d.is_dir() for p in sorted(d.iterdir())]
    return next((p for p in entries if p.is_symlink() and not p.resolve().is_relative_to(inside)), None)


def read_resume_checkpoint(run: RunFolder, checkpoint: Path, cfg: Any) -> dict[str, Any]:
    """The checkpoint a resume continues from, refused with one line (before anything in the folder changes) where
    `textgru.load` would refuse it (damaged, pickled, not textgru's, naming a model class or arguments of its own,
    weights that do not fit them) or where its saved step or random states cannot be restored."""
    from textgru.checkpoint import load_checkpoint, rebuild_model
    from textgru.checkpointing import check_random_states

    check_resumable(run, checkpoint, cfg.trainer)
    ckpt = load_checkpoint(checkpoint, verb=None)  # its own run: unfinished, by design
    rebuild_model(ckpt)  # the checkpoint rule, as for any checkpoint textgru reads
    if type(ckpt.get("global_step")) is not int or ckpt["global_step"] < 0:
        raise TextgruError(f"resume: {checkpoint} holds no training step; {RESUME_ELSEWHERE}")
    step, max_steps = ckpt["global_step"], cfg.trainer.get("max_steps")
    scoring_left = step == max_steps and not run.metrics.exists()  # a review: stopped while scoring, its training done
    if scoring_left:
        log.info("resume: training reached trainer.max_steps=%d; this resume scores the run, writes its results", step)
    elif isinstance(max_steps, int) and 0 <= max_steps <= step:  # a review: "finished in 0 s", stopped_by max_steps
        raise TextgruError(
            f"resume: {checkpoint} is at step {step}, and trainer.max_steps={max_steps} would end the run at once; "
            f"give trainer.max_steps above {step} (or -1: no step limit)"
        )
    try:
        check_random_states(ckpt)
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise TextgruError(
            f"resume: {checkpoint}: its saved random states are damaged ({e}); {RESUME_ELSEWHERE}"
        ) from e
    check_saved_best(run, ckpt)
    return ckpt


RESUME_ELSEWHERE = "resume from an earlier copy of the checkpoint, or start a new run"


def check_checkpoint_fits(ckpt: dict[str, Any], module: Any) -> None:
    """The model the resumed config builds (with the overrides given now) must have the checkpoint's labels and take
    its weights as they are: a changed size (`model.hidden_size=...`) or a callback turned off that saved weights
    (`callbacks.ema=null`) is one line, not a traceback from inside Lightning after the folder was changed."""
    check_same_data(ckpt, module)
    mine = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    saved = {k: tuple(v.shape) for k, v in ckpt["state_dict"].items()}
    for key in sorted(set(mine) | set(saved), key=lambda k: (not k.startswith("model."), k)):  # the model first
        if mine.get(key) != saved.get(key):
            now, then = (f"{list(d[key])}" if key in d else "nothing" for d in (mine, saved))
            raise TextgruError(
                f"resume: the run's config, with the overrides given now, builds a model that does not fit {ckpt['path']} "
                f"({key}: {then} in the checkpoint, {now} now); a resumed run keeps its model: leave such overrides "
                "out, or start a new run"
            )


def prepare_resume(run: RunFolder, ckpt: dict[str, Any], rank_zero: bool) -> int:
    """On rank zero put back the best checkpoint an interrupted run set aside and cut the CSV log back to the
    checkpoint's step (later rows kept aside); a finished run's metrics.json is kept aside too. Returns that step."""
    from textgru.loggers import trim_metrics_log

    step = int(ckpt["global_step"])
    log.info("resuming %s from %s (step %d)", run.path, ckpt["path"], step)
    if rank_zero:  # the files are rank zero's to touch (Lightning's ddp launcher runs this command in every rank)
        if run.metrics.exists():  # a run a limit stopped trains on: it is unfinished until it ends again
            kept = run.metrics_before_resume(step)
            run.metrics.replace(kept)
            log.info("training on from the finished run's step %d; its metrics.json is kept as %s", step, kept.name)
        restore_unfinished_best(run)
        keep_a_later_last(run, ckpt)
        trim_metrics_log(run, step)
    return step


def record_resumed_config(run: RunFolder, config_yaml: str, step: int) -> None:
    """config.yaml says what the run trains with now: where the overrides given to `resume=` (or a moved folder)
    change it, it is rewritten, and the one it replaces is kept beside it (nothing is deleted)."""
    if run.config.read_text(encoding="utf-8") != config_yaml:
        earlier = run.config_before_resume(step)
        shutil.copy2(run.config, earlier)  # then replaced: at every moment the folder holds a config.yaml
        write_text_atomic(run.config, config_yaml)
        log.info("config.yaml now holds the resumed run's config; the earlier one is %s", earlier.name)
