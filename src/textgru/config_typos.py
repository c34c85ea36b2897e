"""One line for an override naming a key the config lacks (Hydra's "Could not override 'x'"): the closest key when it
looks like a typo, the form a search space takes, and the command whose `--cfg job` lists every key; and for a list
given where the config holds a mapping (Hydra's "Error merging override") or an experiment file's defaults list
without its header line."""

from __future__ import annotations

import difflib
import functools
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from textgru.class_arguments import built_section, class_arguments, close_arguments, has_key, own_argument
from textgru.config_file_keys import GLOBAL
from textgru.errors import TextgruError

SPACE = "hparams_search.params"


def unknown_key(
    bad: str, overrides: Sequence[str], command: str, reference: Callable[[], Any], addable: bool = True
) -> TextgruError:
    """The error for the override of `bad`, a key the composed config lacks; `overrides` are the command line's,
    `reference()` composes the config without that override (for the closest key; not called for a search space).
    `addable`: the override could add the key with `+` (not a search space's key)."""
    given = next((o.partition("=")[2] for o in overrides if o.partition("=")[0].lstrip("+~") == bad), "")
    reference = functools.cache(reference)  # composed once for the hints below
    if bad.startswith(f"{SPACE}."):  # the space's keys hold dots: one mapping entry each
        entry = f'{bad.removeprefix(f"{SPACE}.")}: "{given}"'
        return TextgruError(f"{bad}: a search-space key goes inside the space: '++{SPACE}={{{entry}}}'")
    if bad == SPACE:  # a mapping given without ++ cannot add keys the file's space lacks
        return TextgruError(
            f"{SPACE}={given or '{...}'}: search-space keys given on the command line are added with ++: "
            f"'++{SPACE}={given or '{...}'}' (or ~{SPACE} '+{SPACE}=...' to search only your keys)"
        )
    if command == "eval" and bad.startswith("data.") and not any(o.partition("=")[0] == "data" for o in overrides):
        own = "textgru eval scores the model's own data, as its checkpoint describes it (its split too), unless data="
        if bad == "data.path":  # a review: "did you mean paths?"
            fix = f"give data=local data.path={given or '...'} (data=local_csv for a forecaster's CSV file)"
        else:  # a review: data=local was advised for data.split_seed, which the model's own data takes from it
            fix = "give data=<a data config> with it (data=local data.path=<file>, data=tweets ...)"
        return TextgruError(f"{bad}: {own} names a data config; {fix}")
    if (
        command in ("train", "tune")
        and bad in ("data.path", "data.validation_path", "data.test_path")
        and not any(o.partition("=")[0] == "data" for o in overrides)
    ):  # a review: "+data.path=" as advised trained on the built-in tweets, the file only named in config.yaml
        return TextgruError(
            f"{bad}: the default data config reads no files; give data=local {bad}={given or '...'} (data=local_csv for "
            "a forecaster's CSV, data=local_text for a text corpus)"
        )
    if bad == "task" and command not in ("train", "tune"):  # gradient-flow's task.name only names its run folder
        return TextgruError(
            f"task={given}: textgru {command} takes no task (task= is an option of textgru train and tune); "
            f"textgru {command} --help lists its options"
        )
    close = closest_key(bad, reference)
    if close == "paths.run_dir":  # a review: that key follows the run folder; setting it moves only part of the run
        return TextgruError(f"no config key {bad}: a run's folder is given with hydra.run.dir={given or '...'}")
    if close == bad:  # there, holding keys: a value cannot replace them (a review: "did you mean task?" for task)
        dots = f", or names with dots in one mapping: '++{bad}={{a.b: value}}'" if bad.endswith(".tags") else ""
        return TextgruError(
            f"{bad} holds keys, set one at a time ({bad}.<key>=...){dots}; textgru {command} --cfg job lists them"
        )
    if addable and (own := own_argument(bad)):  # a review: "add it with +scheduler.num_training_steps=", ignored
        return TextgruError(f"no config key {own}")
    arguments = class_arguments(bad, reference) if addable else None
    if arguments and bad.rpartition(".")[2] in arguments[1]:  # a review: optimizer.eps was steered to optimizer.lr
        return TextgruError(f"no config key {bad}: {arguments[0]} takes it, add it with +{bad}={given or '...'}")
    hint = f"did you mean {close}? " if close else "check the spelling; "
    if arguments and built_section(bad):  # a review: optimizer.amsgrd=true was told to add the typo with +
        near = close_arguments(bad, arguments[1], lambda key: has_key(reference(), key), given)
        hint = f"did you mean {near}? " if near else hint
        not_taken = f"{arguments[0]} takes no argument {bad.rpartition('.')[2]}"
        return TextgruError(f"no config key {bad}: {not_taken}; {hint}textgru {command} --cfg job lists every key")
    add = f"; to add a new key write +{bad}=..." if addable else ""  # a class's section may take a key it lacks
    return TextgruError(f"no config key {bad}: {hint}textgru {command} --cfg job lists every key{add}")


def key_exists(
    first_line: str, overrides: Sequence[str], error: BaseException | None = None, command: str = ""
) -> TextgruError | None:
    """The error for `+key=value` of a key the config has (Hydra: "Could not append to config. An item is already
    at ..."; "Error merging override +key=..." where its value, `error`'s cause, resolves only in Hydra's run:
    `+paths.run_dir=x`, a review), or `+group=option` of a group it has (`+experiment=NAME`, as Hydra's docs write
    it; Hydra: "Multiple values for experiment", with the fix for a YAML file, a review); None for Hydra's
    `first_line` of another error."""
    from omegaconf.errors import InterpolationResolutionError

    merged = re.match(r"Error merging override \+([^+=]+)=", first_line)
    if merged and isinstance(getattr(error, "__cause__", None), InterpolationResolutionError):
        first_line = f"Could not append to config. An item is already at '{merged[1]}'"
    if first_line.startswith("Could not append to config. An item is already at '"):
        key = first_line.split("'")[1]
        given = next((o.partition("=")[2] for o in overrides if o.partition("=")[0].lstrip("+") == key), "...")
        if key == "paths.run_dir" and command in ("train", "gradient-flow"):  # a review: "drop the +", then refused
            return TextgruError(run_dir_follows(f"+{key}={given}"))
        return TextgruError(f"+{key}: {key} exists, drop the + ({key}={given}); ++{key}={given} sets it either way")
    group = first_line.removeprefix("Multiple values for ").partition(". ")[0]
    given = next((o.partition("=")[2] for o in overrides if o.partition("=")[0] == f"+{group}"), None)
    if not first_line.startswith("Multiple values for ") or given is None:  # a config file's two entries: Hydra's
        return None
    return TextgruError(
        f"+{group}: {group} is a group the config has (with a default, or none chosen), drop the + ({group}={given})"
    )


def run_dir_follows(typed: str) -> str:
    """The line for `paths.run_dir=<folder>` given to a command whose run folder `hydra.run.dir` sets (a review: the
    run went elsewhere, Hydra's own files and a copy of train.log to outputs/<task>/<date>/<time>)."""
    return (
        f"{typed}: paths.run_dir follows the run folder, which hydra.run.dir sets: give "
        f"hydra.run.dir={typed.split('=', 1)[1]} instead"
    )


COMMON_HYDRA_SETTINGS = (
    *("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir", "hydra.job.name", "hydra.job.chdir", "hydra.mode"),
    *("hydra.searchpath", "hydra.verbose", "hydra.output_subdir", "hydra.help.header", "hydra.help.footer"),
)


def merge_problem(first_line: str, error: BaseException) -> str:
    """The line for Hydra's "Error merging override KEY=[...]", a list where the config holds a mapping: the form it
    takes (a review: `hparams_search.params=[1,2]` named none, where `=null` did); an experiment file's `override
    /model: ...` without `# @package _global_` (a review: Hydra's "Could not override 'model@experiment.model'");
    `first_line` for any other error."""
    from textgru.search_settings import SHAPES

    if found := re.match(r"In '(experiment/[^']+)': Could not override '([^'@]+)@experiment\.", first_line):
        return (
            f"your experiment file {found[1]} overrides /{found[2]}, which it cannot while its first line is not "
            f"'{GLOBAL}' (its settings would land under experiment:, where nothing reads them); make that its first line"
        )
    override = first_line.removeprefix("Error merging override ")
    if override == first_line or "Cannot merge DictConfig with ListConfig" not in str(error.__cause__):
        return first_line
    key, _, value = override.partition("=")
    key = key.lstrip("+")
    setting = key.removeprefix("hparams_search.") if key.startswith("hparams_search.") else None
    return f"{key}={value} must be {SHAPES.get(setting or '', 'a mapping, {key: value, ...}')}, not a list"


def _common_hydra_setting(override: str) -> bool:
    """An override of a Hydra setting that exists for sure (textgru's own, the usual ones): no need to compose."""
    return override.startswith("hydra.") and override.partition("=")[0] in COMMON_HYDRA_SETTINGS


def check_hydra_keys(overrides: Sequence[str], compose: Callable[[list[str]], Any], command: str) -> None:
    """`hydra.run.dirr=x`, `~hydra.foo`, `hydra/launcher=basicc`: a Hydra setting or option that does not exist is one
    line naming the closest one or the options (Hydra's own message spans several lines). `overrides`: the command
    line's Hydra ones (`hydra.`, `+hydra.`, `~hydra.`, `hydra/group=`); `compose(overrides)` composes the config
    with Hydra's settings and the command line's other overrides."""
    if all(_common_hydra_setting(o) for o in overrides):
        return  # composing with Hydra's settings costs ~0.15 s a command: only for the others
    try:
        compose(list(overrides))
    except Exception as e:
        lines = str(e).splitlines() or [""]
        first, quoted = lines[0], lines[0].split("'")
        if first.startswith("Could not override 'hydra"):
            bad = quoted[1]
            if bad.startswith("hydra.job.env_set."):
                given = next((o.partition("=")[2] for o in overrides if o.partition("=")[0] == bad), "...")
                raise TextgruError(f"{bad}: an environment variable is added with +: +{bad}={given}") from None
            close = closest_key(bad, lambda: compose([]))
            hint = f"did you mean {close}? " if close else "check the spelling; "
            raise TextgruError(f"no Hydra setting {bad}: {hint}textgru {command} --cfg hydra lists them") from None
        if first.startswith("Could not delete from config.") and len(quoted) > 1 and quoted[1].startswith("hydra"):
            raise TextgruError(
                f"~{quoted[1]}: there is no Hydra setting {quoted[1]} to delete; textgru {command} --cfg hydra "
                "lists them"
            ) from None
        if first.startswith("In 'hydra/config': Could not find 'hydra/") and len(quoted) > 3:
            group, _, option = quoted[3].rpartition("/")
            start = next((i for i, line in enumerate(lines) if line.startswith("Available options in")), len(lines))
            options = list(itertools.takewhile(lambda line: line.startswith("\t"), lines[start + 1 :]))
            options = [line.strip() for line in options]
            choose = f"choose one of: {', '.join(options)}" if options else f"textgru {command} --info lists them"
            raise TextgruError(f"unknown {group} {option!r}; {choose}") from None
        # anything else: Hydra (or the key check of the other overrides) says what is wrong


def closest_key(key: str, reference: Callable[[], Any]) -> str | None:
    """The key of the config `reference()` composes that is most like `key` (model.hiden_size -> model.hidden_size)."""
    from omegaconf import DictConfig, OmegaConf

    try:
        cfg = reference()
        tree = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else cfg
    except Exception:  # no suggestion rather than a second error
        return None
    keys = [k for k in _dotted_keys(tree) if not key.startswith(f"{k}.")]  # a parent: the key is new below it
    keys = [k for k in keys if not k.startswith(f"{SPACE}.")]  # a search's own entries (data.bptt named itself)
    return _most_like(key, keys) or _same_name_elsewhere(key, keys)


def _most_like(key: str, keys: Sequence[str]) -> str | None:
    scored = sorted(((difflib.SequenceMatcher(None, key, k).ratio(), k) for k in keys), reverse=True)
    if not scored or scored[0][0] < 0.8 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None  # nothing close, or a tie (trainer.epochs: min_epochs or max_epochs?)
    return scored[0][1]


def _same_name_elsewhere(key: str, keys: Sequence[str]) -> str | None:
    """The keys named like `key`'s last part under another parent (max_epochs, model.max_epochs ->
    trainer.max_epochs; lr -> optimizer.lr), or, failing that, the one named most like it; at most three."""
    name = key.rpartition(".")[2]
    by_name: dict[str, list[str]] = {}
    for k in keys:
        by_name.setdefault(k.rpartition(".")[2], []).append(k)
    same = by_name.get(name) or by_name.get(_most_like(name, list(by_name)) or "", [])
    return " or ".join(same) if 0 < len(same) <= 3 else None


def _dotted_keys(node: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for name, value in node.items():
        key = f"{prefix}{name}"
        yield key
        if isinstance(value, Mapping):
            yield from _dotted_keys(value, f"{key}.")


def resume_key_problem(override: str, cfg: Any, config_path: Any, addable: bool) -> str:
    """The line for a resume's override that names no key of the run's config, or gives no value: `~callbacks.X`
    turns a callback off with `=null`, a close key is named (a review: both said only "not key=value ... (new:
    +key=value)"); `addable`: a class's section, where `+key=value` adds a key."""
    key, eq, _ = override.partition("=")
    if key.startswith("~"):
        off = f"; to turn a callback off: {key[1:]}=null" if key.startswith("~callbacks.") else ""
        return f"resume: {override!r}: a resumed run's keys cannot be removed{off}"
    if not eq:
        return f"resume: {override!r} gives no value; write {key}=<value>"
    near = closest_key(key.lstrip("+"), lambda: cfg)
    hint = f"did you mean {near}?" if near else "check the spelling"
    if key.startswith("+") or not addable:  # where textgru reads keys by name (added_keys.passed_through)
        return f"resume: {override!r}: textgru train reads no key {key.lstrip('+')}; {hint}"
    return f"resume: {override!r} is not a key in {config_path}; {hint} (a new key: +{override})"
