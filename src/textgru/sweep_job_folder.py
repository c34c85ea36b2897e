"""The folder a `-m` sweep gives one of its jobs: `hydra.sweep.subdir` resolved as Hydra's launcher resolves it, for
the line that runs a job a stopped sweep never started (a review: it named `<sweep>/<number>` whatever the subdir,
with `subdir=${seed}` the stopped job's own folder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def job_folder(sweep_dir: Path, number: int, job: list[str]) -> Path:
    """The folder of job `number` (`job`: its overrides) of the sweep in `sweep_dir`: its subdir interpolated in the
    job's own config, hydra.job.num and id its number (Hydra's BasicLauncher and run_job); `sweep_dir/number` where
    multirun.yaml cannot tell (edited, or a config it read is gone)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    from textgru.config import _compose

    try:
        saved = yaml.safe_load((sweep_dir / "multirun.yaml").read_text(encoding="utf-8"))["hydra"]
        cfg = _compose(saved["job"]["config_name"], [*_hydra_overrides(saved), *job], return_hydra_config=True)
        with open_dict(cfg):
            cfg.hydra.job.id, cfg.hydra.job.num = str(number), number
        before = HydraConfig.instance().cfg  # a stopped job's, in the process that prints the line
        HydraConfig.instance().set_config(cfg)  # `${hydra:job.num}` reads it
        try:
            subdir = str(OmegaConf.select(cfg, "hydra.sweep.subdir"))
        finally:
            HydraConfig.instance().cfg = before
    except Exception:
        subdir = str(number)
    return Path(os.path.join(sweep_dir, subdir))


def _hydra_overrides(saved: dict[str, Any]) -> list[str]:
    """The sweep's own `hydra.*` overrides, its config folders (`--config-dir`, `./conf`) as `hydra.searchpath`."""
    given = [str(o) for o in saved["overrides"]["hydra"] if not str(o).startswith(("hydra.mode=", "hydra.searchpath="))]
    sources = saved["runtime"]["config_sources"]
    paths = [f"{s['schema']}://{s['path']}" for s in sources if s["provider"] not in ("hydra", "main", "schema")]
    return given + ([f"hydra.searchpath=[{','.join(paths)}]"] if paths else [])


def free_folder(folder: Path) -> Path:
    """`folder`, or `folder-1`, `folder-2`, ... where it exists (as `run_folder.fresh_dir` names them)."""
    n = 0
    while (candidate := folder if n == 0 else folder.with_name(f"{folder.name}-{n}")).exists():
        n += 1
    return candidate
