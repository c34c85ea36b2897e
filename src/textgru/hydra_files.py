"""A run folder's `.hydra/` for a run that Hydra's app did not start (`textgru.train()` in Python, a sweep's job
there): the three files Hydra writes for a command-line run, so that `resume=` reads the config groups the run was
composed with and refuses hand edits of `config.yaml` the same way for both."""

from __future__ import annotations

from collections.abc import Sequence
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
