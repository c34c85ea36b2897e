"""An option given as a flag (`--max_epochs 1`, `--text "hi"`): one line with the key=value it means, where the
config has such a key; Hydra's own flags, taken by prefix as argparse takes them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any


def word(arg: str) -> bool:
    """Whether an argument starting with `-` is no flag but a word: `-` (stdin, to many tools), a negative number."""
    return arg == "-" or re.fullmatch(r"-\.?\d[\w.+-]*", arg) is not None


HYDRA_LONG = ("--cfg", "--config-dir", "--config-name", "--config-path", "--experimental-rerun", "--help")
HYDRA_LONG += ("--hydra-help", "--info", "--multirun", "--package", "--resolve", "--run", "--shell-completion")
HYDRA_LONG += ("--version",)  # (argparse takes a prefix of one: --multi)


def dashed_option(
    args: Sequence[str], command: str, reference: Callable[[], Any], groups: Sequence[str] = ()
) -> str | None:
    """One line for an option given as a flag (`--max_epochs 1`, `--text "hi"`, `--trainer.max_epochs=1`): the
    key=value it means, with the key most like its name of the config `reference()` composes, or a config group of
    `groups` that it chooses nothing of (`--experiment mine`); None when every flag is Hydra's."""
    from textgru.config_typos import closest_key

    for i, arg in enumerate(args):
        if arg == "--":
            return None
        name, eq, value = arg.partition("=")
        if not name.startswith("--") or len(name) < 3 or any(is_flag(name, f, f) for f in HYDRA_LONG):
            continue
        values = [] if eq else list(itertools.takewhile(_a_value, args[i + 1 :]))
        given = " ".join([arg, *values])
        key = name[2:] if name[2:] in groups else closest_key(name[2:], reference)
        if key is None:  # a review: `--temp 0.5` was "temp=0.5", a key there is not
            if not value and not values:
                continue  # a flag's typo (--hepl): argparse names it
            return f"{given}: options are key=value, not --flags (textgru {command} --help lists them)"
        if len(values) > 1:  # a review: `--ckpt_paths a b` was ckpt_paths=a
            value = f"[{','.join(values)}]" if _a_list(reference, key) else f"'{' '.join(values)}'"
        else:
            value = values[0] if values else value
        value = f"'{value}'" if " " in value and value[0] not in "'[" else value or "..."
        meant = " or ".join(f"{k}={value}" for k in key.split(" or "))
        return f"{given}: options are key=value, not --flags: {meant} (textgru {command} --help lists them)"
    return None


def _a_value(arg: str) -> bool:
    return "=" not in arg and (not arg.startswith("-") or word(arg))


def _a_list(reference: Callable[[], Any], key: str) -> bool:
    """Whether `key` takes a list: holds one, or, unset (`ckpt_paths: ???`), is named as one."""
    from omegaconf import ListConfig, OmegaConf

    if key.endswith("_paths"):
        return True

    try:
        return isinstance(OmegaConf.select(reference(), key), ListConfig)
    except Exception:
        return False


def is_flag(given: str, short: str, long: str) -> bool:
    """Whether `given` is the flag `short` or `long`, or a prefix of `long` as argparse takes it (`--multi`); not
    `--experiment`, a word of its own (`--experiment mine` is no --experimental-rerun: a review)."""
    least = "--experimental" if long == "--experimental-rerun" else "---"
    return given == short or (given.startswith("--") and len(given) >= len(least) and long.startswith(given))
