"""A run folder's `.hydra/` for a run that Hydra's app did not start (`textgru.train()` in Python, a sweep's job
there): the three files Hydra writes for a command-line run, so that `resume=` reads the config groups the run was
composed with and refuses hand edits of `config.yaml` the same way for both."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict

from textgru.run_folder import RunFolder


def save_hydra_files(run: RunFolder, cfg: DictConfig, overrides: Sequence[str]) -> None:
    """`.hydra/overrides.yaml`, `hydra.yaml` (Hydra's own node: the group choices) and `config.yaml` (the composed
    config, unresolved), as Hydra saves them; `cfg`, composed with its `hydra` node, loses it here."""
    with open_dict(cfg):
        hydra = cfg.pop("hydra")
    run.hydra_overrides.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(list(overrides)), run.hydra_overrides)
    OmegaConf.save(OmegaConf.create({"hydra": hydra}), run.hydra_config)
    OmegaConf.save(cfg, run.hydra_overrides.parent / "config.yaml")


def save_multirun_config(folder: Path, cfg: DictConfig, overrides: Sequence[str]) -> None:
    """`<folder>/multirun.yaml` of a sweep `textgru.sweep()` runs, as Hydra's `-m` writes it: `cfg` (its first job's
    config, with its `hydra` node) with the sweep's own overrides and folder. The folder is then known as a sweep's
    after a stop, as a `-m` sweep's is (a review: a job resumed to its end left the summary's row "unfinished")."""
    saved = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    with open_dict(saved):
        saved.hydra.mode = "MULTIRUN"
        saved.hydra.sweep.dir = str(folder)
        saved.hydra.overrides.task = list(overrides)
    try:
        OmegaConf.save(saved, folder / "multirun.yaml")
    except OSError as e:  # the sweep runs all the same; only a stop's jobs run later are not summarised
        logging.getLogger(__name__).warning("could not write %s (%s)", folder / "multirun.yaml", e)


def started_in(run: RunFolder) -> str | None:
    """The folder the run's command was typed in (Hydra's `hydra.runtime.cwd`; None where absent): its relative
    paths are relative to it."""
    try:
        cwd = yaml.safe_load(run.hydra_config.read_text())["hydra"]["runtime"]["cwd"]
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return None
    return cwd if isinstance(cwd, str) else None


def group_choices(run: RunFolder) -> dict[str, Any]:
    """The option of each config group the run was composed with (Hydra's `.hydra/hydra.yaml`; {} where absent)."""
    try:
        saved = yaml.safe_load(run.hydra_config.read_text())
        return dict(saved["hydra"]["runtime"]["choices"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return {}
