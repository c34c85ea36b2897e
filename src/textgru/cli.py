"""Hydra entry points for scripts/: up-front checks of config-group choices and one-line errors."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import hydra
from omegaconf import DictConfig

from textgru.errors import TextgruError

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
log = logging.getLogger("textgru")


def fail(message: str, code: int = 2) -> None:
    """One line on stderr and a non-zero exit: the house style for bad input."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def check_group_choices(args: list[str], conf_dir: Path = CONF_DIR) -> None:
    """Reject `group=option` overrides naming an option that has no YAML file, listing the valid ones."""
    for arg in args:
        if "=" not in arg or arg.startswith(("-", "hydra.")):
            continue
        key, value = arg.split("=", 1)
        key = key.lstrip("+~")
        group = conf_dir / key.replace(".", "/")
        if "." in key or not group.is_dir() or value in ("", "null"):
            continue
        choices = sorted(p.stem for p in group.glob("*.yaml"))
        for option in value.split(","):
            option = option.strip()
            if option.startswith(("choice(", "range(", "interval(", "tag(", "glob(")):
                break
            if option not in choices:
                fail(f"unknown {key} {option!r}; choose one of: {', '.join(choices)}")


def hydra_entry(fn: Callable[[DictConfig], Any] | str, config_name: str) -> Any:
    """Run `fn(cfg)` under `hydra.main` with `conf/`; TextgruError becomes one line and exit code 2.

    `fn` may be given as "module:function" so that heavy imports wait until the command line is checked.
    """
    check_group_choices(sys.argv[1:])

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
    def main(cfg: DictConfig) -> Any:
        try:
            import datasets

            datasets.disable_progress_bars()  # we log what each step did instead
            target = fn
            if isinstance(fn, str):
                module, name = fn.split(":")
                target = getattr(importlib.import_module(module), name)
            return target(cfg)
        except TextgruError as e:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            log.error("%s", e)
            fail(str(e))

    return main()


