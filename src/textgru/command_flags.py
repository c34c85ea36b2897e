"""Hydra's flags among a command's overrides (`--cfg job`, `--config-dir DIR`, `--info config`, `--help`): told
apart from the key=value overrides, put after them for Hydra's parser, and checked against the flags it knows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textgru.errors import TextgruError

HYDRA_VALUE_FLAGS = ("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--cfg", "-c", "--package")
HYDRA_VALUE_FLAGS += ("-p", "--experimental-rerun")  # flags whose value is the next argument
INFO_TOPICS = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")  # --info's optional value


def split_flags(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the overrides, Hydra's flags with their values: `--cfg job`, `--config-dir DIR`, `--info config`)."""
    overrides: list[str] = []
    flags: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            flags.append(arg)
            skip = False
        elif arg.startswith("-"):
            flags.append(arg)
            skip = arg in HYDRA_VALUE_FLAGS or (
                arg in ("--info", "-i") and i + 1 < len(args) and args[i + 1] in INFO_TOPICS
            )
        else:
            overrides.append(arg)
    return overrides, flags


def overrides_only(args: Sequence[str]) -> list[str]:
    """The command line without Hydra's flags and their values (`--cfg job`, `--config-dir DIR`, `--info config`)."""
    return split_flags(args)[0]


def flags_last(args: Sequence[str]) -> list[str]:
    """The overrides, then Hydra's flags: argparse takes only one run of overrides, so overrides a command adds after
    the user's `--cfg job` or `--help` would be refused as unrecognized arguments."""
    overrides, flags = split_flags(args)
    return [*overrides, *flags]


def check_flags(args: Sequence[str], parser: Any) -> None:
    """One line for an option Hydra's parser does not know (`--hepl`), instead of argparse's usage block."""
    known = {name for action in parser._actions for name in action.option_strings}
    for flag in split_flags(args)[1]:
        if flag.startswith("-") and flag.split("=", 1)[0] not in known:
            raise TextgruError(
                f"unknown option {flag!r}; options are key=value (--help lists them), and the flags are "
                f"{', '.join(sorted(n for n in known if n.startswith('--')))}"
            )
