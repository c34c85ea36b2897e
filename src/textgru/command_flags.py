"""Hydra's flags among a command's overrides (`--cfg job`, `--config-dir DIR`, `--info config`, `--help`): told
apart from the key=value overrides, put after them for Hydra's parser, whose refusals become one line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from textgru.console import fail
from textgru.dashed_flags import dashed_option, is_flag, word
from textgru.errors import TextgruError

HYDRA_VALUE_FLAGS = ("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--cfg", "-c", "--package")
HYDRA_VALUE_FLAGS += ("-p", "--experimental-rerun")  # flags whose value is the next argument
INFO_TOPICS = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")  # --info's optional value


def multirun(args: Sequence[str]) -> bool:
    """Whether a command line asks Hydra for a multirun (`-m`, `--multirun`, `hydra.mode=MULTIRUN`)."""
    return any(a in ("-m", "--multirun") or a.replace(" ", "") == "hydra.mode=MULTIRUN" for a in args)


def searches(args: Sequence[str]) -> bool:
    """Whether a command line names a hyperparameter search (`hparams_search=NAME`; `hparams_search=null` is none)."""
    return any(
        a.partition("=")[0].lstrip("+") == "hparams_search" and a.partition("=")[2].strip() not in ("", "null")
        for a in args
    )


def asks_version(args: Sequence[str]) -> bool:
    """Whether a command's flags ask for the version (`textgru train --version`: textgru's, not Hydra's)."""
    return any(is_flag(f, "-V", "--version") for f in split_flags(args)[1])


def takes_value(flag: str) -> bool:
    """Whether Hydra's flag reads the next argument as its value (`--cfg job`; argparse also takes `--cf job`)."""
    return flag in HYDRA_VALUE_FLAGS or (
        flag.startswith("--") and len(flag) > 2 and any(f.startswith(flag) for f in HYDRA_VALUE_FLAGS if f[1] == "-")
    )


def split_flags(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the overrides, Hydra's flags with their values: `--cfg job`, `--config-dir DIR`, `--info config`); after
    `--`, every argument is an override."""
    overrides: list[str] = []
    flags: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            flags.append(arg)
            skip = False
        elif arg == "--":
            overrides += args[i + 1 :]
            break
        elif arg.startswith("-") and not word(arg):
            flags.append(arg)
            skip = takes_value(arg) or (arg in ("--info", "-i") and i + 1 < len(args) and args[i + 1] in INFO_TOPICS)
        else:
            overrides.append(arg)
    return overrides, flags


def showing_only(args: Sequence[str]) -> bool:
    """Whether the command line only shows the config or help (`--cfg job`, `-cjob`, `--info`, `--help`)."""
    for flag in split_flags(args)[1]:
        name = flag.partition("=")[0]
        if name in ("-c", "-i", "-h") or (name.startswith("-c") and name[2:] in ("job", "hydra", "all")):
            return True
        if any(is_flag(name, "", long) for long in ("--cfg", "--info", "--help", "--hydra-help")):
            return True
    return False


def overrides_only(args: Sequence[str]) -> list[str]:
    """The command line without Hydra's flags and their values (`--cfg job`, `--config-dir DIR`, `--info config`)."""
    return split_flags(args)[0]


def flags_last(args: Sequence[str]) -> list[str]:
    """The overrides, then Hydra's flags: argparse takes only one run of overrides, so overrides a command adds after
    the user's `--cfg job` or `--help` would be refused as unrecognized arguments."""
    overrides, flags = split_flags(args)
    if "--hydra-help" in flags:  # textgru's list of the flags it takes (Hydra's named --config-name, shell completion
        overrides.append("hydra/hydra_help=textgru")  # and --experimental-rerun, which textgru refuses: a review)
    return [*overrides, *flags]


def one_line_errors(parser: Any, command: str) -> None:
    """argparse's own refusals (an unknown flag such as `--hepl`, a flag without its value) as one line and exit code
    2 instead of its usage block. argparse decides what it accepts (abbreviations, `-cjob`, `--`), as before."""

    def error(message: str) -> NoReturn:
        fail(f"{message}; options are key=value, flags those `textgru {command} --help` lists")

    parser.error = error


OWN_CONFIG = "each command composes its own config; add yours with --config-dir DIR (e.g. DIR/experiment/mine.yaml)"
NOT_OURS = {  # Hydra's flags textgru refuses, and why
    "--config-name": OWN_CONFIG,
    "--config-path": OWN_CONFIG,
    "--experimental-rerun": "textgru does not re-run Hydra's config.pickle (a pickle can run code); resume=<run folder>"
    " goes on with a run, and a run's .hydra/overrides.yaml lists its command line",
}
NOT_OURS["-cn"] = NOT_OURS["-cp"] = OWN_CONFIG
NOT_OURS["--shell-completion"] = NOT_OURS["-sc"] = (  # a review: Hydra's script completes `python train.py`, not
    "textgru has no shell completion; `textgru <command> --help` lists the options, --cfg job every key"  # textgru
)

MODES = ("--run", "-r", "--multirun", "-m", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc")


def check_flag_combinations(
    args: Sequence[str], config_name: str = "train", reference: Callable[[], Any] | None = None
) -> None:
    """One line for flags Hydra refuses together with a traceback: two modes (`-m --cfg job`), or `--hydra-help`
    with overrides (Hydra's own options; it composes them into its own config and fails); for Hydra's flags textgru
    does not take, a top-level key removed (`~model`), a sweep of a command other than train, and a bare word or a
    key given as a flag (`--max_epochs 1`: `reference()` composes the config, for the key meant)."""
    overrides, flags = split_flags(args)
    command = "tune" if "hydra.job.name=tune" in overrides else config_name.replace("_", "-")
    if command != "train" and any(is_flag(f, "-m", "--multirun") for f in flags):  # a review: a stray ./multirun
        instead = "textgru tune runs its trials itself: drop -m" if command == "tune" else ""
        raise TextgruError(
            f"-m: sweeps are for textgru train; {instead or f'run textgru {command} once for each value instead'}"
        )
    modes = list(dict.fromkeys(f for f in flags if f in MODES))
    if len(modes) > 1:
        raise TextgruError(f"{' and '.join(modes)} cannot go together: give one of them (--cfg job shows the config)")
    if "--hydra-help" in flags and [o for o in overrides if not o.startswith("hydra.")]:  # (tune adds hydra.*)
        raise TextgruError("--hydra-help lists Hydra's own flags and takes no key=value; use --help for the options")
    for i, flag in enumerate(flags):  # Hydra warns of a missing folder, then fails on the configs it would hold
        name, eq, value = flag.partition("=")
        if name in ("--config-dir", "-cd"):
            folder = value if eq else (flags[i + 1] if i + 1 < len(flags) else "")
            folder = "" if folder.startswith("-") else folder  # the next flag, not a folder
            if not folder or not Path(folder).is_dir():  # as Hydra reads it: ~ is not expanded
                what = (
                    f"{folder}: " + ("not a folder" if Path(folder).exists() else "no such folder")
                    if folder
                    else "needs a folder"
                )
                raise TextgruError(
                    f"--config-dir {what}; give the folder holding your configs (e.g. experiment/mine.yaml)"
                )
    for flag in flags:  # a review: Hydra's traceback (another config), or a run from a pickle (which can run code)
        name = flag.partition("=")[0]
        refused = [f for f in NOT_OURS if is_flag(name, f, f)]
        if len(refused) == 1 and not any(f.startswith(name) for f in ("--config-dir", "--cfg")):  # else: ambiguous
            raise TextgruError(f"{name}: {NOT_OURS[refused[0]]}")
    if config_name == "train" and (removed := removed_whole_config(overrides, f"textgru {command}")):  # (the other
        raise TextgruError(removed)  # commands refuse every ~key: config.py)
    chosen_by_name = ("experiment", "hparams_search") if config_name == "train" else ()  # groups null by default
    dashed = dashed_option(
        args, command, reference or dict, chosen_by_name
    )  # before the bare word: `--max_epochs 1` blamed the 1
    if dashed is not None:
        raise TextgruError(dashed)
    bare = next((a for a in overrides if "=" not in a and not a.startswith("~")), None)  # Hydra: "missing EQUAL"
    if bare == "-":  # a review: Hydra's lexer error, several lines
        reads = {"predict": "text= nor input=", "generate": "prompt= nor prompt_file="}.get(command)
        how = (
            f"textgru {command} reads stdin when neither {reads} is given"
            if reads
            else f"textgru {command} reads no stdin"
        )
        raise TextgruError(f"'-': {how}; drop '-'")
    if bare is not None:
        value = " (a value goes after its key: key=" + bare + ")" if word(bare) else ""
        raise TextgruError(f"{bare!r} is not an option{value}: options are key=value (e.g. seed=1); --help lists them")


def removed_whole_config(overrides: Sequence[str], who: str) -> str | None:
    """One line for a `~key` that removes a top-level key or a config group (a review: `~model` composed, then a
    traceback and a half-made run folder), else None."""
    removed = next((a for a in overrides if a.startswith("~") and "." not in a.partition("=")[0]), None)
    if removed is None:
        return None
    key = removed.partition("=")[0][1:]
    if "/" in key:  # a defaults entry: ~hydra/job_logging
        return f"~{key}: {who} needs its {key} config; choose another with {key}=<option> instead"
    return f"~{key}: {who} needs each of its top-level keys; give {key}=<value> instead"


def resume_flags(args: Sequence[str]) -> tuple[list[str], bool, list[str]]:
    """(the overrides of `textgru train resume=...`, whether `--cfg job` asks to print the config it would go on with
    instead of training, the `--config-dir DIR` flags: folders whose `_target_`s the run's config may name); any other
    flag, `-m` included, is one line."""
    overrides, flags = split_flags(args)
    show, config_dirs, rest = False, [], list(flags)
    while rest:
        flag = rest.pop(0)
        if flag in ("--cfg", "-c") and rest[:1] == ["job"] and not show:
            rest.pop(0)
            show = True
        elif flag in ("--config-dir", "-cd") and rest:
            config_dirs += [flag, rest.pop(0)]
        elif flag.startswith("--config-dir="):
            config_dirs.append(flag)
        else:
            raise TextgruError(
                f"resume= continues one run and takes key=value overrides, --cfg job and --config-dir only, not "
                f"{' '.join(flags)} (-m starts a sweep of new runs)"
            )
    return overrides, show, config_dirs
