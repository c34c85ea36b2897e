"""Hydra entry points for scripts/: up-front checks of the command line and one-line errors."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import hydra
from omegaconf import DictConfig, open_dict
from omegaconf.errors import MissingMandatoryValue

from textgru.errors import TextgruError

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
FINISHED_RUN_MARKERS = ("metrics.json", "checkpoints/best.ckpt", "checkpoints/last.ckpt")
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


def check_run_dir(args: list[str]) -> None:
    """Refuse an explicit `hydra.run.dir=` that holds a finished run, before Hydra writes anything there."""
    for arg in args:
        if arg.startswith("hydra.run.dir="):
            run_dir = Path(arg.split("=", 1)[1]).expanduser()
            for name in FINISHED_RUN_MARKERS:
                if (run_dir / name).exists():
                    fail(f"{run_dir} already holds a run ({name}); choose another hydra.run.dir= so nothing is overwritten")


def take_raw_args(args: list[str], keys: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Pull `key=value` for free-text keys out of the command line, so Hydra does not parse their values
    (an apostrophe, a comma or `true` in a text would otherwise be read as grammar, a sweep or a bool)."""
    rest, raw = [], {}
    for arg in args:
        key = arg.split("=", 1)[0]
        if "=" in arg and key in keys:
            raw[key] = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, raw


def hydra_entry(fn: Callable[[DictConfig], Any] | str, config_name: str, raw_keys: tuple[str, ...] = ()) -> Any:
    """Run `fn(cfg)` under `hydra.main` with `conf/`; TextgruError becomes one line and exit code 2.

    `fn` may be given as "module:function" so that heavy imports wait until the command line is checked.
    `raw_keys` name free-text options whose values are taken verbatim, never parsed by Hydra.
    """
    check_group_choices(sys.argv[1:])
    check_run_dir(sys.argv[1:])
    sys.argv[1:], raw = take_raw_args(sys.argv[1:], raw_keys)

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
    def main(cfg: DictConfig) -> Any:
        try:
            import datasets

            datasets.disable_progress_bars()  # we log what each step did instead
            with open_dict(cfg):
                for key, value in raw.items():
                    cfg[key] = value
            target = fn
            if isinstance(fn, str):
                module, name = fn.split(":")
                target = getattr(importlib.import_module(module), name)
            return target(cfg)
        except MissingMandatoryValue as e:
            key = getattr(e, "full_key", None) or str(e)
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            fail(f"{key} is required: pass {key}=...")
        except TextgruError as e:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            fail(str(e))

    return main()
