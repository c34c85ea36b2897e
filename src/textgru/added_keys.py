"""Keys added (`+key=`, `++key=`) or removed (`~key`) on the command line: taken only where something reads them. A
training's trainer, model, optimizer, scheduler and callbacks sections are the arguments of a class, which takes or
refuses a new one; the other sections' keys (data, task, tokenizer, paths, the top-level ones) are read by textgru by
name, so a new one there was read by nothing (a review: `+data.max_lenght=8` trained with the default)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from omegaconf import DictConfig, OmegaConf

from textgru.config_typos import closest_key
from textgru.errors import TextgruError

UNREAD = {"eval": {"paths.output_dir": "output_dir", "paths.run_dir": "output_dir"}}  # keys a command has, never reads
FILES = ("data.path", "data.validation_path", "data.test_path")  # refused later, naming data=local (data_config_checks)
PASSED_THROUGH = ("trainer", "model", "optimizer", "scheduler", "callbacks", "hparams_search")  # to a class, or Optuna


def passed_through(key: str, cfg: DictConfig | None = None) -> bool:
    """Whether a new `key` of the training config reaches a class that reads it: one below a section given to a class
    (`trainer.accumulate_grad_batches`), or below a logger's own section (`logger.mlflow.tags.team`, where `cfg`,
    the config without it, has `logger.mlflow`)."""
    parts = key.split(".")
    if parts[0] in PASSED_THROUGH:
        return True
    section = ".".join(parts[:2])
    return parts[0] == "logger" and len(parts) > 2 and (cfg is None or OmegaConf.select(cfg, section) is not None)


def check_added_keys(
    added_or_removed: Sequence[str], compose: Callable[[], DictConfig], command: str, is_group: Callable[[str], bool]
) -> None:
    """One line for an override adding a key nothing reads (`+data.max_lenght=8`, `+foo=1`), or, for a command other
    than training, removing one (`~port`). `compose()`: the config without these overrides; `is_group(key)`: `key`
    names a config group (`+experiment=mine` selects one)."""
    if not added_or_removed:
        return
    train = command in ("train", "tune")
    try:
        base = compose()
    except Exception:  # the full composition says what is wrong
        return
    for override in added_or_removed:
        key = override.partition("=")[0].lstrip("+~")
        if "@" in key or "/" in key:  # a config group's option, or its package (+data@extra=tweets): Hydra's to check
            continue
        if override.startswith("~"):
            if train:
                continue
            raise TextgruError(f"~{key}: textgru {command} needs every key it has; give {key}=<value> instead")
        absent = object()
        if OmegaConf.select(base, key, default=absent, throw_on_missing=False) is not absent:
            continue  # `++key=` sets it; `+key=` is refused as Hydra composes (config_typos.key_exists)
        if train and (passed_through(key, base) or is_group(key) or key in FILES):
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
            instead = UNREAD[command][key]
            raise TextgruError(f"{key}: textgru {command} does not read it; give {instead}=<folder> instead")
