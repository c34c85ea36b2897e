"""A study's best trial as an experiment config (`best_experiment.yaml`), its header the commands that train that
trial again: the search's other overrides, what every trial used besides (the search config's task and settings,
the fixed values of its space), then the best parameters."""

from __future__ import annotations

import re
import shlex
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from textgru.atomic_files import write_text_atomic
from textgru.errors import TextgruError
from textgru.override_values import override_value


def search_settings(cfg: DictConfig, base_overrides: list[str], config_name: str = "train") -> dict[str, Any]:
    """What every trial of the search `cfg` used beyond the command line's `base_overrides` and its searched
    parameters, as {key: value}: the task and any other key the search config sets (a review: `hparams_search=lm`
    was retrained as a sentiment classifier), then the fixed values of its space (a review: `optimizer.weight_decay:
    "0.3"` was left out). A key the train config lacks is named `++key`."""
    from textgru.search_space import UNCOMPARED, compose_trial, flat_config, parse_search_space
    from textgru.study_space import fixed_values

    settings: dict[str, Any] = {}
    try:
        plain = compose_trial(config_name, base_overrides)
    except TextgruError:  # a key only the search's task has (a review: task.samples=0 beside hparams_search=lm)
        plain = None
    if plain is None or plain.task.name != cfg.task.name:  # a group: its own keys (data, model ...) follow it
        settings["task"] = cfg.task.name
        plain = compose_trial(config_name, [*base_overrides, f"task={cfg.task.name}"])
    without = flat_config(OmegaConf.to_container(plain, resolve=False))
    for key, value in flat_config(OmegaConf.to_container(cfg, resolve=False)).items():
        if not key.startswith(UNCOMPARED) and (key not in without or without[key] != value):
            settings[key if key in without else f"++{key}"] = value
    space = parse_search_space(OmegaConf.to_container(cfg.hparams_search.params, resolve=True))
    return settings | fixed_values(space)


def write_best_experiment(
    study: Any,
    path: Path,
    task: str,
    metric: str,
    test_metrics: dict,
    base_overrides: list[str],
    settings: dict[str, Any] | None = None,
) -> None:
    """The best trial's parameters, after the `settings` every trial used (`search_settings`), as an experiment config
    (`# @package _global_`: nested keys, a config group as a defaults entry), its header the commands that train that
    trial again: the search's other overrides are the command line's, so they are given again (a review: the file
    alone trained another model)."""
    best = study.best_trial
    chosen = {**(settings or {}), **best.params}
    conf = files("textgru.conf")
    group = [k for k, v in chosen.items() if "." not in k and isinstance(v, str) and conf.joinpath(k).is_dir()]
    groups = [{"override /task": task}, *({f"override /{k}": chosen[k]} for k in group if k != "task")]
    nested: dict[str, Any] = {}
    for key, value in chosen.items():
        if key in group:
            continue
        node = nested
        *parents, leaf = key.lstrip("+").split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    test = ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items() if k.startswith("test/"))
    others = " ".join(shlex.quote(o) for o in base_overrides)

    def typed(value: Any) -> str:  # a plain word as typed (pooling=mean); other strings quoted, as Hydra needs
        word = isinstance(value, str) and re.fullmatch(r"[A-Za-z_][\w\-]*", value) is not None
        return value if word and value.lower() not in ("null", "true", "false", "nan", "inf") else override_value(value)

    params = " ".join(shlex.quote(f"{k}={typed(v)}") for k, v in chosen.items())
    header = (
        f"# @package _global_\n# Best trial ({best.number}) of Optuna study '{study.study_name}': {metric}={best.value:.4f}"
        f"{'; ' + test if test else ''}.\n"
        f"# Train it again: textgru train {' '.join(filter(None, (others, params)))}\n"
    )
    if not any(o.partition("=")[0].lstrip("+") == "experiment" for o in base_overrides):  # one experiment= a run
        header += f"# or copy this file to conf/experiment/NAME.yaml, then: textgru train experiment=NAME {others}\n"
    body = yaml.safe_dump({"defaults": groups, **nested}, sort_keys=False)
    write_text_atomic(path, header + body)
