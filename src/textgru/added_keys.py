"""Keys added (`+key=`, `++key=`) or removed (`~key`) on the command line: taken only where something reads them. A
training's trainer, model, optimizer, scheduler and callbacks sections are the arguments of a class, which takes or
refuses a new one; the other sections' keys (data, task, tokenizer, paths, the top-level ones) are read by textgru by
name, so a new one there was read by nothing (a review: `+data.max_lenght=8` trained with the default)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from omegaconf import DictConfig, OmegaConf

from textgru.config_typos import closest_key
from textgru.errors import TextgruError

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


def check_added_keys(
    added_or_removed: Sequence[str],
    compose: Callable[[], DictConfig],
    command: str,
    is_group: Callable[[str], bool],
    swept: Collection[str] = (),
    training: bool | None = None,
) -> None:
    """One line for an override adding a key nothing reads (`+data.max_lenght=8`, `+foo=1`), or, for a command other
    than training, removing one (`~port`). `compose()`: the config without these overrides; `is_group(key)`: `key`
    names a config group (`+experiment=mine` selects one); `swept`: the groups a `-m` sweep gives several options,
    whose keys `compose()` has for the first option only (a review: `-m task=sentiment,lm ++task.samples=0`);
    `training`: the command trains (None: it is train or tune; a data-parallel run's other processes are named
    otherwise, `hydra.job.name=train_ddp_process_1`)."""
    if not added_or_removed:
        return
    train = command in ("train", "tune") if training is None else training
    try:
        base = compose()
    except Exception:  # the full composition says what is wrong
        return
    for override in added_or_removed:
        key = override.partition("=")[0].lstrip("+~")
        if any(key.startswith(f"{group}.") for group in swept):
            continue
        if "@" in key or "/" in key:  # a config group's option, or its package (+data@extra=tweets): Hydra's to check
            continue
        if override.startswith("~"):
            if train and (key.partition(".")[0] not in FIXED or passed_through(key)):  # ~callbacks.early_stopping
                continue
            raise TextgruError(f"~{key}: textgru {command} needs every key it has; give {key}=<value> instead")
        absent = object()
        if OmegaConf.select(base, key, default=absent, throw_on_missing=False) is not absent:
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
