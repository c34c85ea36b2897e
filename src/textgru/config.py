"""Composing textgru's Hydra configs: the package's own config tree (`textgru/conf`, shipped in the wheel), extended
by the user's `./conf/` and `--config-dir` folders, and the one-line checks of command-line overrides."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from textgru.added_keys import check_added_keys, check_unread_keys, passed_through
from textgru.command_flags import overrides_only
from textgru.conf import CONF_DIR
from textgru.config_typos import check_hydra_keys, key_exists, merge_problem, unknown_key
from textgru.errors import TextgruError
from textgru.override_values import first_values, sweep_options

CONF_MODULE = "textgru.conf"
log = logging.getLogger(__name__)
USER_CONF = Path("conf")  # ./conf beside the user's command extends them


def user_conf_dirs(args: Sequence[str] = ()) -> list[Path]:
    """The user's config folders: `./conf` where it exists, then any `--config-dir DIR` / `-cd DIR` given."""
    dirs, args = [USER_CONF.resolve()] if USER_CONF.is_dir() else [], list(args)
    for i, arg in enumerate(args):
        if arg in ("--config-dir", "-cd") and i + 1 < len(args):
            dirs.append(Path(args[i + 1]).expanduser().resolve())
        elif arg.startswith("--config-dir="):
            dirs.append(Path(arg.split("=", 1)[1]).expanduser().resolve())
    return dirs


def check_no_shadowed_configs(args: Sequence[str] = (), config_name: str = "train") -> None:
    """Refuse a user's config at the path of one textgru ships and `config_name` reads: Hydra reads the package's first,
    so the user's `conf/model/bigru_classifier.yaml` was never read and the run trained the shipped one, silently."""
    for folder in user_conf_dirs(args):
        if not folder.is_dir() or folder == CONF_DIR:
            continue
        for path in sorted(folder.rglob("*.yaml")):
            rel = path.relative_to(folder)
            if not (CONF_DIR / rel).is_file() or (not rel.parent.parts and rel.stem != config_name):
                continue
            if not rel.parent.parts:  # a command's own config: textgru's is read (a review: only train has experiment=)
                mine = "put your settings in an experiment instead (conf/experiment/mine.yaml, then experiment=mine)"
                fix = mine if config_name == "train" else "move it aside, and give the options on the command line"
            else:
                group = rel.parent.as_posix().replace("/", ".")
                fix = f"rename yours (e.g. {rel.parent / ('my_' + rel.name)}) and select it: {group}=my_{rel.stem}"
            raise TextgruError(f"{path} has the name of a config textgru ships, which is read instead of yours: {fix}")


def search_path_override(args: Sequence[str] = (), config_dirs: bool = False) -> list[str]:
    """`hydra.searchpath=[...]` adding `./conf` (when it exists) to the package's configs, as an override, so that a
    user's `conf/experiment/mine.yaml` makes `experiment=mine` work. `config_dirs`: the `--config-dir` folders too
    (Hydra adds those by itself when it runs a command; the compose API that probes the command line does not)."""
    if any(a.startswith("hydra.searchpath") for a in args):
        return []
    dirs = user_conf_dirs(args) if config_dirs else [USER_CONF.resolve()] if USER_CONF.is_dir() else []
    return [f"hydra.searchpath=[{','.join(f'file://{d}' for d in dirs)}]"] if dirs else []


def group_options(group: str, args: Sequence[str] = ()) -> list[str] | None:
    """The options of config group `group` (e.g. "model") in the package and the user's folders; None when
    `group` is not a config group."""
    folders = [d / group.replace(".", "/") for d in (CONF_DIR, *user_conf_dirs(args))]
    if not any(f.is_dir() for f in folders):
        return None
    return sorted({p.stem for f in folders if f.is_dir() for p in f.glob("*.yaml")})


def check_group_choices(args: Sequence[str], config_name: str = "train") -> None:
    """Reject `group=option` overrides naming an option that has no YAML file, listing the valid ones, and a user's
    config that a shipped one would hide (`check_no_shadowed_configs`)."""
    check_no_shadowed_configs(args, config_name)
    for arg in args:
        if "=" not in arg or arg.startswith(("-", "hydra.")):
            continue
        key, value = arg.split("=", 1)
        key = key.lstrip("+~")
        choices = None if "." in key or value in ("", "null") else group_options(key, args)
        if choices is None:
            continue
        for option in value.split(","):
            option = option.strip().strip("[]").strip()  # logger=[mlflow,tensorboard] selects several
            if option.startswith(("choice(", "range(", "interval(", "tag(", "glob(")):
                break
            if option not in choices:
                raise TextgruError(f"unknown {key} {option!r}; choose one of: {', '.join(choices)}")


def check_override_keys(args: Sequence[str], config_name: str) -> DictConfig | None:
    """Compose the config once with the command line's overrides, each sweep replaced by its first value: a
    key that does not exist gets one line here, before a sweep starts any run (Hydra's own message spans
    several lines). Returns that config; None for command lines this cannot probe (no overrides, globs,
    unparsable text), which are left to Hydra."""
    command = next((a[15:] for a in args if a.startswith("hydra.job.name=")), config_name.replace("_", "-"))
    candidates = [a for a in overrides_only(args) if not a.lstrip("+~").startswith("hydra")]
    check_unread_keys(overrides_only(args), command)
    probe = first_values(candidates)
    dirs = search_path_override(args, config_dirs=True)
    if probe is not None:  # Hydra's settings as Hydra will compose them: with every override (a group may add keys)
        settings = [a for a in overrides_only(args) if a.lstrip("+~").startswith("hydra")]
        check_hydra_keys(settings, lambda some: _compose(config_name, probe + some + dirs, True), command)
    if not candidates or probe is None:
        return None
    changed = [a for a in candidates if a[:1] in "+~"]  # the config without them, its groups as chosen
    is_group = lambda key: group_options(key, args) is not None
    kept = [
        p
        for p, a in zip(probe, candidates, strict=True)
        if a[:1] not in "+~" or is_group(a.partition("=")[0].lstrip("+~"))
    ]
    swept = {
        a.partition("=")[0]: sweep_options(a)
        for p, a in zip(probe, candidates, strict=True)
        if p != a and is_group(a.partition("=")[0])
    }
    chosen = lambda group, option: [f"{group}={option}" if a.partition("=")[0] == group else a for a in kept]
    compose_kept = lambda *choice: _compose(config_name, (chosen(*choice) if choice else kept) + dirs, False)
    check_added_keys(changed, compose_kept, command, is_group, swept, training=config_name == "train")
    try:
        return _compose(config_name, probe + dirs, return_hydra_config=False)
    except Exception as e:
        first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
        nulled = [
            k
            for k in (a.partition("=")[0].lstrip("+") for a in candidates if a.endswith("=null"))
            if group_options(k, args)
        ]
        if first_line.startswith("Config group override must be") and nulled:  # scheduler=null: a group takes a name
            choices = ", ".join(group_options(nulled[0], args) or [])
            raise TextgruError(f"{nulled[0]}=null: a config group takes one of: {choices}; or leave it out") from None
        bad = first_line.split("'")[1] if first_line.startswith("Could not override '") else None
        if bad:
            others = [o for o in probe if o.partition("=")[0].lstrip("+~") != bad] + dirs
            compose = lambda: _compose(config_name, others, False)
            addable = config_name == "train" and passed_through(bad)
            raise unknown_key(bad, candidates, command, compose, addable=addable) from None
        if exists := key_exists(first_line, candidates, e, command):  # +key= of a key or group the config has
            raise exists from None
        raise TextgruError(merge_problem(first_line, e)) from None


def _compose(config_name: str, overrides: list[str], return_hydra_config: bool) -> DictConfig:
    """Hydra's compose API on the package's config tree, leaving any running Hydra app's global state as it was."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    from textgru.run_folder import register_resolvers

    register_resolvers()
    backup = get_gh_backup()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(CONF_MODULE, version_base="1.3", job_name=config_name):
            return compose(config_name=config_name, overrides=overrides, return_hydra_config=return_hydra_config)
    finally:
        restore_gh_from_backup(backup)


def compose_config(
    config_name: str = "train", overrides: Sequence[str] = (), return_hydra_config: bool = False
) -> DictConfig:
    """`textgru/conf/<config_name>.yaml` with `overrides` (command-line syntax, e.g. `"model.hidden_size=64"`);
    `./conf` extends the package's configs as on the command line.

    A key or group option that does not exist raises `TextgruError` with one line; works inside or outside a
    running Hydra app (the global Hydra state is restored afterwards)."""
    overrides = [str(o) for o in overrides]
    if not (CONF_DIR / f"{config_name}.yaml").is_file():
        names = sorted(p.stem for p in CONF_DIR.glob("*.yaml"))
        raise TextgruError(f"unknown config_name {config_name!r}; use one of {names}")
    check_group_choices(overrides, config_name)
    check_override_keys(overrides, config_name)
    try:
        return _compose(config_name, overrides + search_path_override(overrides), return_hydra_config)
    except Exception as e:
        raise TextgruError(str(e).splitlines()[0] if str(e) else type(e).__name__) from e


def data_config(name: str) -> dict[str, Any]:
    """The resolved data config `conf/data/<name>.yaml` (e.g. "tweets"), as the training config would hold it."""
    from omegaconf import OmegaConf

    cfg = compose_config("eval", [f"data={name}"])
    data = OmegaConf.to_container(cfg.data, resolve=True)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}


def tokenizer_config(kind: str) -> dict[str, Any]:
    """The tokenizer config `conf/tokenizer/<kind>.yaml` (e.g. "char")."""
    from omegaconf import OmegaConf

    tokenizer = OmegaConf.to_container(compose_config("train", [f"tokenizer={kind}"]).tokenizer, resolve=True)
    assert isinstance(tokenizer, dict)
    return {str(k): v for k, v in tokenizer.items()}


def local_cache_dir() -> str:
    """This machine's cache folder for prepared data (`paths.cache_dir`: $TEXTGRU_CACHE or ~/.cache/textgru)."""
    return str(compose_config("eval").paths.cache_dir)


def take_raw_args(args: Sequence[str], keys: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
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


def put_back_raw_args(cfg: Any, raw: dict[str, str]) -> None:
    """Put the free-text options `take_raw_args` held back into the composed config, escaped so that OmegaConf
    reads them verbatim: `text='the price is ${price}'` is that text, not an interpolation to resolve."""
    from omegaconf import open_dict

    with open_dict(cfg):
        for key, value in raw.items():
            cfg[key] = re.sub(r"(\\*)\$\{", lambda m: m.group(1) * 2 + "\\${", value)  # \ before ${ kept too


def in_hydra_multirun() -> bool:
    """Whether this process runs a job of a Hydra multirun (`-m`)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def back_where_the_command_ran() -> None:
    """Undo `hydra.job.chdir=true`: relative paths (data, checkpoints, outputs) are from where the command ran; a
    run's files go into its run folder anyway. Hydra restores the folder after the job."""
    from hydra.core.hydra_config import HydraConfig

    hydra = HydraConfig.get()
    if hydra.job.chdir and os.getcwd() != hydra.runtime.cwd:
        log.info("hydra.job.chdir=true: paths stay relative to %s (a run writes into its folder)", hydra.runtime.cwd)
        os.chdir(hydra.runtime.cwd)
