"""What Hydra would otherwise say in several lines, or only after the run started, as one line: the command line
checked before Hydra starts (an override it cannot parse, a sweep without -m or given again, a run or sweep folder it
could not make, every value of a sweep, the free-text options, the composed config), and Hydra's
`InstantiationException` (a class that refused its arguments) turned into one line naming the config key."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from textgru.class_arguments import check_added_arguments
from textgru.command_flags import multirun, searches, showing_only
from textgru.config_checks import check_config, check_value
from textgru.config_literals import check_literal_folders
from textgru.config_lookup import Unresolved, lookup, unresolved_in
from textgru.config_path_rules import Folder, static_folder
from textgru.config_problem import problem
from textgru.config_typos import run_dir_follows
from textgru.console import command_arg, hydra_quoted
from textgru.errors import TextgruError, cut_at_word
from textgru.override_values import check_grid_sweep, check_sweeps_not_given_again, sweep_values
from textgru.run_folder import unquoted


def read_override(arg: str, parser: Any = None) -> Any:
    """`arg` as Hydra's parser reads it (an `Override`), or one line saying how to quote its value."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return (parser or OverridesParser.create()).parse_override(arg)
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        key, _, value = arg.partition("=")
        if not value.isascii() and value[:1] not in "'\"":  # a review: the hint named brackets and commas only
            odd = next(ch for ch in value if not ch.isascii())
            if value[:1] in "[{":  # each item of a list, whole (spaces too)
                hint = shlex.quote(f"{key}=" + re.sub(r"[^\[\]{},:]+", _quoted_item, value))
            else:  # the whole value (a review: "été 12:30" was cut at its colon, "d'été" lost its apostrophe)
                hint = command_arg(key, value.replace('"', ""), literal=False)  # the user's own ${...}
            raise TextgruError(
                f"cannot read the override {arg!r}: Hydra reads {odd!r} (not ASCII) only in quotes; quote what holds "
                f"it, e.g. {hint}"
            ) from None
        raise TextgruError(
            f"cannot read the override {arg!r} ({first}); quote a value holding brackets, quotes, commas or '=', "
            "e.g. 'key=\"a, b\"'"
        ) from None


def _quoted_item(m: re.Match[str]) -> str:
    """A list item as Hydra reads non-ASCII text: in double quotes, its spaces inside them and its own double quotes
    dropped (a review: 'output=a b/ü.ckpt' was hinted as 'output=a "b/ü.ckpt"', which failed again)."""
    core = m[0].strip()
    if core.isascii():
        return m[0]
    return m[0].replace(core, '"' + core.replace('"', "") + '"', 1)


def check_command_line(
    args: Sequence[str], config_name: str, cfg: DictConfig | None = None, raw: Mapping[str, str] | None = None
) -> None:
    """Before Hydra starts: an override it cannot parse, a run or sweep folder it could not make, every value of
    each sweep, the free-text options (`raw`), and, when given, the composed config `cfg` (`config.check_override_keys`
    composes it)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    overrides = []
    for arg in args:
        if arg.startswith("-") or "=" not in arg:  # Hydra's flags and their values (--cfg job), ~key deletions
            continue
        overrides.append(read_override(arg, parser))
    sweep = multirun(args)
    search = searches(args)
    if sweep and not search:
        check_sweeps_not_given_again(overrides)
    for o in overrides:
        key = o.get_key_element().lstrip("+~")
        if o.is_sweep_override() and search:
            values = o.input_line.split("=", 1)[1]
            spec = values if values.startswith(("choice(", "range(", "interval(", "tag(")) else f"choice({values})"
            raise TextgruError(
                f"{o.input_line} gives several values, but a search runs one config per trial: search them, e.g. "
                f"'++hparams_search.params={{{key.removeprefix('hparams_search.params.')}: \"{spec}\"}}'"
            )
        if sweep and not search:
            check_grid_sweep(o)
        if o.is_sweep_override() and not sweep:  # -m is train's alone (a review: eval was told to add it)
            each = "add -m to run one job for each" if config_name == "train" else "run the command once for each"
            raise TextgruError(
                f"{o.input_line} gives several values: {each}, or write a list as {key}=[...] or a text as "
                f"'{key}=\"...\"'"
            )
        if key == "paths.output_dir" and o.is_sweep_override() and sweep and not search:  # a review: ignored, in
            raise TextgruError(  # each job's config.yaml all the same
                f"{o.input_line}: a -m sweep's jobs all go in its one folder, hydra.sweep.dir (by default under the "
                "one paths.output_dir the sweep starts with), so a swept one moves none of them: give it one value, "
                "or hydra.sweep.dir=<folder> (its jobs go to <folder>/0, 1, ...), one sweep per folder"
            )
        if key == "paths.run_dir" and config_name in ("train", "gradient_flow"):
            raise TextgruError(run_dir_follows(o.input_line))
        if key in ("hydra.run.dir", "hydra.sweep.dir") and isinstance(o.value(), str) and "${" not in o.value():
            if message := problem(key, o.value(), Folder()):
                raise TextgruError(message)
    typed = {o.get_key_element().lstrip("+~"): o.value() for o in overrides if isinstance(o.value(), str)}
    check_literal_folders(typed, config_name, sweep)
    keys = {o.get_key_element().lstrip("+") for o in overrides}
    if sweep and not search and "hydra.run.dir" in keys and "hydra.sweep.dir" not in keys:  # a review: ignored
        raise TextgruError(
            "hydra.run.dir= names one run's folder, and a -m sweep does not read it (its jobs would go to "
            "outputs/<task>/multirun/...): give hydra.sweep.dir=<folder> instead; its jobs go to <folder>/0, 1, ..."
        )
    if cfg is None:
        from textgru.config import compose_config

        return _resolved_folders(typed, compose_config(config_name))
    with_raw = cfg
    if raw:
        with_raw = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
        OmegaConf.set_struct(with_raw, False)
        for key, value in raw.items():
            with_raw[key] = value
    run_folder_key = "hydra.sweep.dir" if sweep else "hydra.run.dir"  # the folder every job's lies in
    given = [o.value() for o in overrides if o.get_key_element().lstrip("+") == run_folder_key]
    showing = showing_only(args)  # --cfg job: paths need not exist yet (a review: a preset's LM, pretrained later)
    check_config(with_raw, config_name, run_dir=static_folder(given[-1]) if given else None, showing=showing)
    _resolved_folders(typed, cfg)  # after the keys' own lines (a review: tune's own run folder was blamed)
    for o in overrides:
        if o.is_sweep_override():
            key = o.get_key_element().lstrip("+~")
            for value in sweep_values(o.value()):
                check_value(with_raw, config_name, key, value)
    if config_name == "train" and not showing:  # last: it imports the classes (a review: +optimizer.epss=1e-6 failed
        check_added_arguments([o.input_line for o in overrides], cfg)  # once the data was loaded)


def _resolved_folders(typed: Mapping[str, Any], cfg: DictConfig) -> None:
    """A run's or sweep's folder or job name given with `${...}` that fails to resolve (a review: a traceback): as the
    key it names that fails (`paths.output_dir` of tune's own `hydra.run.dir`, a review), else as typed."""
    for key in ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir", "hydra.job.name"):
        if "${" in typed.get(key, "") and (why := unresolved_in(cfg, typed[key])):
            named = re.findall(r"\$\{(?:oc\.select:)?([\w.]+)", typed[key])
            failing = [(k, v.reason) for k in named if isinstance(v := lookup(cfg, k), Unresolved)]
            given, why = failing[0] if failing else (f"{key}={typed[key]}", why)
            raise TextgruError(f"{given} cannot be resolved: {why}")


def command_line_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig  # as typed: resolved, `\${` lost its backslash (a review)

    return list(OmegaConf.to_container(HydraConfig.get().overrides.task)) if HydraConfig.initialized() else []


def one_line(error: BaseException) -> TextgruError:
    """Hydra's `InstantiationException` (several lines: the target, the cause, `full_key: ...`) as one line naming
    the config key, what refused it and why, e.g. a Lightning Trainer argument it refused."""
    text = str(error)
    full_key = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("full_key:")), "")
    target = re.search(r"target '([^']+)'", text)
    cause = error.__cause__ or error
    reason = cut_at_word((" ".join(str(cause).split()) or type(cause).__name__).rstrip("."), 300)  # several lines
    key = full_key or "config"
    by = f" by {target.group(1).rsplit('.', 1)[-1]}" if target else ""
    fix = f"fix that {key}.* value" if "." in key or key == "config" else f"fix the {key}= choice or its {key}.* values"
    return TextgruError(f"{key} refused{by}: {reason}; {fix}")  # a group (trainer=ddp_cpu) as chosen or set


def number_option(cfg: Any, key: str, kind: type = float) -> Any:
    """`cfg[key]` as an int or float, or one clear error (Hydra passes `top_k=many` through as a string)."""
    value = cfg[key]
    try:
        if kind is int and not isinstance(value, bool) and (isinstance(value, int) or str(value).strip().isdigit()):
            return int(value)  # exact: a seed above 2**53 would lose its last digits through a float
        number = float(value)
        if isinstance(value, bool) or (kind is int and not number.is_integer()):
            raise ValueError
    except (TypeError, ValueError):
        raise TextgruError(f"{key}={value!r} is not {'an integer' if kind is int else 'a number'}") from None
    return kind(number)


def home_folders_expanded(args: Sequence[str], raw_keys: Sequence[str] = (), config_name: str = "train") -> list[str]:
    """`args` with a path `~` or `~/...` made the home folder, for the keys of `config_name` that name a file or
    folder (`takes_a_path`; not the free-text `raw_keys`), `hydra.*.dir` and `--config-dir`: unquoted, Hydra's parser
    refused it (a shell that does not expand `~` after `=`: zsh, dash, a script's argument list), and quoted, Hydra
    made a folder named `~` in the current one for `hydra.run.dir` (reviews). Items of a list too; a sweep (a comma
    outside quotes) is left to Hydra. Other values stay as typed (the review of expanding every key: stop='~' became
    stop=/root, and a sample ran past its stop)."""
    out: list[str] = []
    for arg in args:
        key, eq, raw = arg.partition("=")
        if out[-1:] in (["--config-dir"], ["-cd"]) and _home(unquoted(arg)):  # the flag's value apart (a review)
            arg = os.path.expanduser(unquoted(arg))
        elif key in ("--config-dir", "-cd") and eq and _home(unquoted(raw)):
            arg = f"{key}={os.path.expanduser(unquoted(raw))}"  # a flag's value: a plain path, not Hydra's grammar
        elif eq and key.lstrip("+~") not in raw_keys and takes_a_path(config_name, key.lstrip("+~")):
            arg = f"{key}={_expanded(raw)}"
        out.append(arg)
    return out


def _home(value: str) -> bool:
    return value == "~" or value.startswith("~/")


def _expanded(raw: str) -> str:
    """An override's value with a `~` path expanded: one, or each item of a list of unquoted items."""
    value = unquoted(raw)
    if _home(value) and ("," not in raw or value != raw):
        return hydra_quoted(os.path.expanduser(value))
    if raw.startswith("[") and raw.endswith("]") and not any(q in raw for q in "'\""):
        items = [item.strip() for item in raw[1:-1].split(",")]
        return "[" + ",".join(hydra_quoted(os.path.expanduser(i)) if _home(i) else i for i in items) + "]"
    return raw


def takes_a_path(config_name: str, key: str) -> bool:
    """Whether `key` of the config `config_name` names a file or folder: its rule is a path's (any of its rules, for
    a key whose rule depends on another's value), or it is a run's or sweep's folder."""
    from textgru.config_path_rules import ArtifactLocation, Existing, File, Folder, NewFile, StoreUri
    from textgru.config_rules import AnyOf, When
    from textgru.config_rules_commands import RULES

    if key in ("resume", "hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir", "trainer.default_root_dir"):
        return True
    if key.endswith(".dirpath"):  # a callback's folder (callbacks.model_checkpoint.dirpath)
        return True
    rules, paths = [RULES.get(config_name, {}).get(key)], (Existing, File, Folder, NewFile, StoreUri, ArtifactLocation)
    while rules:
        rule = rules.pop()
        if isinstance(rule, When):
            rules += [*(rule.rules or {}).values(), rule.otherwise]
        elif isinstance(rule, AnyOf):
            rules += list(rule.rules)
        elif isinstance(rule, paths):
            return True
    return False
