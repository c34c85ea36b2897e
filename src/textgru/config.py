"""Hydra configs composed in-process with the compose API (for `textgru.train` and data configs by name), with
the command line's one-line checks on the overrides."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig

from textgru.cli import CONF_DIR, check_group_choices, check_override_keys
from textgru.errors import TextgruError


def compose_config(
    config_name: str = "train", overrides: Sequence[str] = (), return_hydra_config: bool = False
) -> DictConfig:
    """`conf/<config_name>.yaml` with `overrides` (command-line syntax, e.g. `"model.hidden_size=64"`).

    A key or group option that does not exist raises `TextgruError` with one line; works inside or outside a
    running Hydra app (the global Hydra state is restored afterwards)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    overrides = [str(o) for o in overrides]
    if not (CONF_DIR / f"{config_name}.yaml").is_file():
        names = sorted(p.stem for p in CONF_DIR.glob("*.yaml"))
        raise TextgruError(f"unknown config_name {config_name!r}; use one of {names}")
    backup = get_gh_backup()
    GlobalHydra.instance().clear()
    try:
        check_group_choices(overrides)
        check_override_keys(overrides, config_name)
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name=config_name):
            return compose(config_name=config_name, overrides=overrides, return_hydra_config=return_hydra_config)
    except TextgruError:
        raise
    except Exception as e:
        raise TextgruError(str(e).splitlines()[0] if str(e) else type(e).__name__) from e
    finally:
        restore_gh_from_backup(backup)


def data_config(name: str) -> dict[str, Any]:
    """The resolved data config `conf/data/<name>.yaml` (e.g. "tweets"), as the training config would hold it."""
    from omegaconf import OmegaConf

    cfg = compose_config("eval", [f"data={name}"])
    data = OmegaConf.to_container(cfg.data, resolve=True)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}
