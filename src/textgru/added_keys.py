"""Keys added (`+key=`, `++key=`) or removed (`~key`) on the command line: taken only where something reads them. A
training's trainer, model, optimizer, scheduler and callbacks sections are the arguments of a class, which takes or
refuses a new one; the other sections' keys (data, task, tokenizer, paths, the top-level ones) are read by textgru by
name, so a new one there was read by nothing (a review: `+data.max_lenght=8` trained with the default)."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping, Sequence

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from textgru.class_arguments import built_section, check_added_arguments
from textgru.config_lookup import ABSENT
from textgru.config_typos import closest_key
from textgru.errors import TextgruError

log = logging.getLogger(__name__)

OUTPUT = {"eval": "output_dir=<folder>", "predict": "output=<file>.jsonl", "generate": "output=<file>.jsonl"}
OUTPUT |= {"export": "output=<folder>", "ensemble": "output=<file>.ckpt"}
UNREAD = {  # keys a command has (a shared config group, Hydra's), never reads, and what it reads instead
    command: {"hydra.run.dir": f"give {out} instead"} for command, out in OUTPUT.items()
}  # a review: `textgru eval ckpt_path=X hydra.run.dir=zzz` was taken, to no effect
UNREAD["eval"] |= dict.fromkeys(("paths.output_dir", "paths.run_dir"), "give output_dir=<folder> instead")
UNREAD["serve"] = {"hydra.run.dir": "textgru serve writes no files, drop it"}
FIXED = ("data", "task", "tokenizer", "paths", "logger")  # read by textgru by name: `~task.label_smoothing` crashed
FILES = ("data.path", "data.validation_path", "data.test_path")  # refused later, naming data=local (data_config_checks)
PASSED_THROUGH = ("trainer", "model", "optimizer", "scheduler", "callbacks", "hparams_search")  # to a class, or Optuna


def passed_through(key: str, cfg: DictConfig | None = None) -> bool:
    """Whether a new `key` of the training config reaches a class that reads it: one below a section given to a class
    (`trainer.accumulate_grad_batches`), or a logger's tag (`logger.mlflow.tags.team`, where `cfg`, the config
    without it, has the mapping `logger.mlflow.tags`): textgru reads a logger's other keys by name (a review:
    `+logger.mlflow.experiment_nme=foo` was taken and ignored)."""
    parts = key.split(".")
    if parts[0] == "hparams_search":  # Optuna's, once a search is chosen (else n_trials is read by nothing)
        return cfg is None or OmegaConf.select(cfg, "hparams_search") is not None
    if parts[0] in PASSED_THROUGH:
        return True
    tags = ".".join(parts[:3])
    return (
        parts[0] == "logger"
        and len(parts) > 3
        and parts[2] == "tags"
        and (cfg is None or isinstance(OmegaConf.select(cfg, tags), DictConfig))
    )


def has_key(cfg: DictConfig, key: str) -> bool:
    """Whether `cfg` has `key`, whatever its value: one naming Hydra's run folder (`paths.run_dir`, the Trainer's
    default_root_dir, a checkpoint's dirpath) resolves only in Hydra's run (a review: `++paths.run_dir=x` was a
    40-line "HydraConfig was not set" traceback)."""
    try:
        return OmegaConf.select(cfg, key, default=ABSENT, throw_on_missing=False) is not ABSENT
    except InterpolationResolutionError:
        return True


def check_added_keys(
    added_or_removed: Sequence[str],
    compose: Callable[..., DictConfig],
    command: str,
    is_group: Callable[[str], bool],
    swept: Mapping[str, Sequence[str]] | None = None,
    training: bool | None = None,
) -> None:
    """One line for an override adding a key nothing reads (`+data.max_lenght=8`, `+foo=1`), or, for a command other
    than training, removing one (`~port`). `compose()`: the config without these overrides, `compose(group, option)`
    with that option of a group; `is_group(key)`: `key` names a config group (`+experiment=mine` selects one);
    `swept`: the options of each group a `-m` sweep gives several (`swept_key`); `training`: the command trains
    (None: it is train or tune; a data-parallel run's other processes are named otherwise,
    `hydra.job.name=train_ddp_process_1`)."""
    if not added_or_removed:
        return
    train = command in ("train", "tune") if training is None else training
    try:
        base = compose()
    except Exception:  # the full composition says what is wrong
        return
    for override in added_or_removed:
        key = override.partition("=")[0].lstrip("+~")
        if (group := next((g for g in swept or {} if key.startswith(f"{g}.")), None)) is not None:
            if not override.startswith("~") and not (train and (passed_through(key) or key in FILES)):
                swept_key(override, group, (swept or {})[group], compose)  # ~key: Hydra's, in each job
            elif train and override.startswith("+") and built_section(key):
                swept_argument(override, group, (swept or {})[group], compose)
            continue
        if "@" in key or "/" in key:  # a config group's option, or its package (+data@extra=tweets): Hydra's to check
            continue
        if override.startswith("~"):
            if train and (key.partition(".")[0] not in FIXED or passed_through(key)):  # ~callbacks.early_stopping
                continue
            raise TextgruError(f"~{key}: textgru {command} needs every key it has; give {key}=<value> instead")
        if has_key(base, key):
            continue  # `++key=` sets it; `+key=` is refused as Hydra composes (config_typos.key_exists)
        if train and (passed_through(key, base) or is_group(key) or key in FILES):
            continue
        if command == "tune" and key.startswith("hparams_search."):  # tune without a search names one (tuning)
            continue
        close = closest_key(key, lambda: base)
        hint = f"did you mean {close}? " if close and close != key else ""
        raise TextgruError(
            f"{override.partition('=')[0]}: textgru {command} reads no key {key}; {hint}textgru {command} --cfg job "
            "lists its keys"
        )


def check_unread_keys(overrides: Sequence[str], command: str) -> None:
    """One line for a key a command has (from a shared config group) but never reads (a review: `textgru eval
    paths.output_dir=zzz` was taken, and the report went to the run folder), naming the key it reads instead."""
    for override in overrides:
        key = override.partition("=")[0].lstrip("+~")
        if key in UNREAD.get(command, {}):
            raise TextgruError(f"{key}: textgru {command} does not read it; {UNREAD[command][key]}")


def swept_key(override: str, group: str, options: Sequence[str], compose: Callable[..., DictConfig]) -> None:
    """A key added below a group that a `-m` sweep gives several options (`-m task=sentiment,lm ++task.samples=0`, a
    review: it was refused, only sentiment composed; then taken for sentiment unsaid): one line where no option has
    it, a warning naming the options that do not (set where it is read, as meant)."""
    key, given = override.partition("=")[0].lstrip("+"), override.partition("=")[0]
    try:
        configs = {o: compose(group, o) for o in options}
    except Exception:  # the full composition says what is wrong
        return
    unread = [o for o, cfg in configs.items() if not has_key(cfg, key)]
    if unread and len(unread) == len(options):
        near = {c for cfg in configs.values() if (c := closest_key(key, lambda cfg=cfg: cfg)) and c != key}
        best = max(near, key=lambda c: difflib.SequenceMatcher(None, key, c).ratio(), default=None)  # a review
        hint = f"did you mean {best}?" if best else "check the spelling"
        raise TextgruError(f"{given}: no {group} of this sweep has a key {key} ({', '.join(options)}); {hint}")
    section = key.rpartition(".")[0]  # a review: `logger=mlflow,default ++logger.mlflow.x=` made a partial section
    if bare := [o for o in unread if not has_key(configs[o], section)]:
        raise TextgruError(
            f"{given}: the {group}={','.join(bare)} runs have no {section} section, and this key alone would make one "
            "that they cannot read; sweep those options apart"
        )
    if unread:
        log.warning(
            "%s: the %s=%s runs read no key %s; it is set in the others only", given, group, ",".join(unread), key
        )


def swept_argument(override: str, group: str, options: Sequence[str], compose: Callable[..., DictConfig]) -> None:
    """An argument added to a class that a `-m` sweep gives several options (`-m optimizer=adam,adamw
    +optimizer.decoupled_weight_decay=true`), checked against each option's class (a review: against the first only;
    the adamw job failed after the adam job had trained): one line naming the option whose class does not take it."""
    for option in options:
        try:
            cfg = compose(group, option)
        except Exception:  # the full composition says what is wrong
            return
        try:
            check_added_arguments([override], cfg)
        except TextgruError as e:
            raise TextgruError(f"{e} (in the {group}={option} runs of this sweep)") from None
