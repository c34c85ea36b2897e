"""An Optuna search space (`hparams_search.params`), parsed by Hydra's override grammar and checked against the
config before anything heavy is imported: a typo in a key or a range is one line at once, not after Lightning loads."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
from omegaconf import DictConfig, OmegaConf

from textgru.config_typos import unknown_key
from textgru.errors import TextgruError
from textgru.override_values import first_of_sweep, override_value, sweep_values


def parse_search_space(params: dict[str, str]) -> dict[str, Any]:
    """`{"optimizer.lr": "tag(log, interval(1e-4, 1e-2))", ...}` → `{key: ChoiceSweep | IntervalSweep | RangeSweep
    | fixed value}`, parsed by Hydra's own override grammar."""
    parser = OverridesParser.create()
    space = {}
    for key, spec in params.items():
        if str(key).startswith(UNSEARCHABLE):  # a review: accepted, and best_experiment.yaml then named the value
            raise TextgruError(
                f"hparams_search.params.{key}: a search cannot vary {key}, which says where a trial writes or how "
                "the search runs, not what it trains; leave it out of the space"
            )
        try:
            space[key] = parser.parse_override(f"{key}={spec}").value()
        except Exception as e:
            raise TextgruError(
                f"hparams_search.params.{key}: cannot parse {spec!r} ({str(e).splitlines()[0]}); "
                "use choice(a, b), interval(lo, hi), tag(log, interval(lo, hi)) or range(lo, hi, step)"
            ) from e
        _check_bounds(key, spec, space[key])
    return space


UNSEARCHABLE = ("paths.run_dir", "hparams_search.", "hydra.", "optimized_metric", "optimized_mode")


def _check_bounds(key: str, spec: str, value: Any) -> None:
    """One line for a space Optuna would refuse only inside the first trial (a traceback, the trial left RUNNING):
    an interval whose low end is above its high end or, on a log scale, at 0 or below; an empty range, a tag other
    than log."""
    where = f"hparams_search.params.{key}={spec}"
    if isinstance(value, (IntervalSweep, RangeSweep)) and value.tags - {"log"}:
        raise TextgruError(f"{where}: unknown tag {sorted(value.tags - {'log'})}; the one tag read is log")
    if isinstance(value, ChoiceSweep) and value.tags:  # a review: tag(log, choice(8, 16)) ran, the tag unread
        raise TextgruError(f"{where}: a choice picks among its values, so a tag cannot apply; drop tag(...)")
    if isinstance(value, RangeSweep) and "log" in value.tags:  # Optuna steps evenly: the tag was dropped silently
        raise TextgruError(f"{where}: a range steps evenly, so log cannot apply; write tag(log, int(interval(lo, hi)))")
    if isinstance(value, IntervalSweep) and value.start > value.end:
        raise TextgruError(f"{where}: the interval's low end is above its high end; write interval(low, high)")
    if isinstance(value, IntervalSweep) and "log" in value.tags and value.start <= 0:  # a review: Optuna's traceback
        raise TextgruError(
            f"{where}: a log scale starts above 0; give a low end > 0 (e.g. 1e-6), or drop tag(log, ...)"
        )
    if not isinstance(value, RangeSweep):
        return
    step = 1 if value.step is None else value.step
    if not (step > 0 and value.start < value.stop):
        raise TextgruError(
            f"{where}: the range holds no value; write range(start, stop[, step]) with start < stop, step > 0"
        )
    if value.start + step >= value.stop:  # range(1e-3, 1e-2) steps by 1: Optuna's traceback inside the first trial
        raise TextgruError(
            f"{where}: the range steps by {step}, so it holds only {value.start}; give a step that fits, "
            f"range({value.start}, {value.stop}, step), search interval({value.start}, {value.stop}), or write "
            f"choice({value.start}) for that one value"
        )


def search_override(key: str, value: Any) -> str:
    return f"{key}={override_value(value)}"


def run_dir_override(run_dir: Path) -> str:
    """`paths.run_dir=` a trial's folder, quoted: unquoted, a study folder with a non-ASCII letter or a `'` failed
    every trial (a review: LexerNoViableAltException)."""
    from textgru.console import hydra_literal, hydra_quoted

    return f"paths.run_dir={hydra_quoted(hydra_literal(str(run_dir)))}"  # `${` as text, not an interpolation


def check_search_space(cfg: DictConfig, overrides: list[str], config_name: str = "train") -> dict[str, Any]:
    """The parsed space of `cfg.hparams_search.params`; one line if it is empty, does not parse, or names a key the
    config does not have (the run's overrides with each key's first value composed as a trial would be)."""
    if "params" not in cfg.hparams_search:  # '+...params={...}' '~...params': a review's ConfigAttributeError traceback
        raise TextgruError(
            "hparams_search.params is gone: '~hparams_search.params' removes the whole space, the one given before it "
            "too; put it first: '~hparams_search.params' '+hparams_search.params={...}'"
        )
    space = parse_search_space(OmegaConf.to_container(cfg.hparams_search.params, resolve=True))
    if not space:
        raise TextgruError("hparams_search.params is empty: name at least one key to search")
    for override in trial_base(overrides):  # each trial's value would replace it (a review: 16 given, 8 trained)
        if (key := override.partition("=")[0].lstrip("+~")) in space:
            raise TextgruError(
                f"{override} sets a key the search also searches (hparams_search.params has {key}), so no trial "
                f"would use it; drop {override}, or search only your keys: '~hparams_search.params' "
                "'+hparams_search.params={...}'"
            )
    first = {k: search_override(k, first_of_sweep(v)) for k, v in space.items()}
    compose_trial(config_name, trial_base(overrides) + list(first.values()) + ["paths.run_dir=/dev/null"])
    for key, value in space.items():  # each option of a choice of names (a config group's: optimizer=adam lacks
        for option in [v for v in sweep_values(value)[1:] if isinstance(v, str)]:  # optimizer.weight_decay; a review
            chosen = {**first, key: search_override(key, option)}  # found the study stopped at its first such trial)
            try:
                compose_trial(config_name, trial_base(overrides) + list(chosen.values()) + ["paths.run_dir=/dev/null"])
            except TextgruError as e:
                said = str(e).removeprefix("search space: ")
                raise TextgruError(
                    f"search space: a trial that draws {key}={option} cannot be composed: {said}"
                ) from None
    study_direction(cfg)
    return space


def study_direction(cfg: DictConfig) -> str:
    """Optuna's direction: the one `optimized_mode` gives (each trial's checkpoint and early stopping follow it); one
    line if `hparams_search.direction` says otherwise (such a study reported its worst trial as the best)."""
    given, wanted = cfg.hparams_search.get("direction"), "maximize" if cfg.optimized_mode == "max" else "minimize"
    if given is not None and given != wanted:
        other = "min" if cfg.optimized_mode == "max" else "max"
        raise TextgruError(
            f"hparams_search.direction={given} goes against optimized_mode={cfg.optimized_mode} (each trial keeps "
            f"the {cfg.optimized_mode} of {cfg.optimized_metric}); set optimized_mode={other} instead, and leave "
            "hparams_search.direction unset"
        )
    return wanted


SETTINGS_ATTR = "textgru.settings"  # the study's user attribute: the config its trials start from, flattened
FIXED_ATTR = "textgru.settings_with_fixed"  # set where SETTINGS_ATTR holds the space's fixed values (newer studies)
UNCOMPARED = (
    "hparams_search",
    "logger",
    "paths",
    "hydra",
    "n_trials",
    "data.num_workers",
    "trainer.enable_progress_bar",
)


def check_same_settings(study: Any, trial_cfg: DictConfig, study_dir: Path, given: Sequence[str] = ()) -> None:
    """One line if the config every trial of this call starts from (its search space aside) differs from the one the
    study's trials were run with (a study run again with other settings mixed them, and its best_experiment.yaml
    named this call's); compared composed, so the order or spelling of overrides does not matter, and without what
    does not change a result (logger, paths, loader workers, progress bar). The first call stores it in the study; a
    key it lacks that this call's overrides (`given`) do not set is a setting textgru added since, at its default (a
    review: every study stored before one was added was refused). A study whose every trial failed takes this call's
    settings."""
    from textgru.config_path_rules import absolute_data_paths

    trial_cfg = copy.deepcopy(trial_cfg)
    absolute_data_paths(trial_cfg)  # a review: data.path=data.csv from another folder joined another file's trials
    now = {k: str(v) for k, v in flat_config(OmegaConf.to_container(trial_cfg, resolve=False)).items()}
    now = {k: v for k, v in now.items() if not k.startswith(UNCOMPARED)}
    stored = study.user_attrs.get(SETTINGS_ATTR)
    trials = study.get_trials(deepcopy=False)
    failed = bool(trials) and all(t.state.name == "FAIL" for t in trials)  # not one a stop left RUNNING
    if stored is None or failed:  # every trial failed (a review: on trainer.devices=3): no score to keep comparable
        study.set_user_attr(SETTINGS_ATTR, now)
        return
    changed = sorted(set(stored) | set(now), key=str)
    added = {k for k in set(now) - set(stored) if not any(k == g or k.startswith(f"{g}.") for g in given)}
    changed = [k for k in changed if k not in added and not _same_value(k, stored.get(k), now.get(k))]
    if changed:
        shown = "; ".join(f"{k}: {stored.get(k, '(none)')} then, {now.get(k, '(none)')} now" for k in changed[:4])
        raise TextgruError(
            f"the study in {study_dir} was run with other settings ({shown}{' ...' if len(changed) > 4 else ''}): a "
            "study's trials are compared with one another, so they share their settings; give its overrides, or a "
            "new study folder: a new hparams_search.study_name= (or another hydra.run.dir=, where you gave one)"
        )


def _same_value(key: str, then: Any, now: Any) -> bool:
    """Whether a stored setting is the one given now: a relative path stored by a study made before paths were
    compared absolute is the same where the absolute path now ends with it."""
    if then == now:
        return True
    paths = ("data.path", "data.validation_path", "data.test_path", "model.pretrained_lm")
    if key in paths and isinstance(then, str) and "${" in then:  # stored unresolved: `experiment=`'s ${paths...}
        return True
    if key in paths and isinstance(then, str) and isinstance(now, str) and not os.path.isabs(then):
        return now.endswith("/" + os.path.normpath(then))
    return False


def compared_overrides(study: Any, base: list[str], space: dict[str, Any]) -> list[str]:
    """The overrides whose composed config `check_same_settings` compares: the command line's, and the space's fixed
    values (a review: another fixed value was taken, and the best experiment named it). A study stored before they
    were compared keeps being compared without them (a review: such a study could no longer be resumed)."""
    from textgru.study_space import fixed_values

    if SETTINGS_ATTR not in study.user_attrs:  # a new study: its stored settings hold the fixed values
        study.set_user_attr(FIXED_ATTR, True)
    if not study.user_attrs.get(FIXED_ATTR):
        return list(base)
    return [*base, *(search_override(key, value) for key, value in fixed_values(space).items())]


def flat_config(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A config as {dotted key: value} (a list is one value)."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in flat_config(sub, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): tree}


def trial_base(overrides: list[str]) -> list[str]:
    """The command line's overrides every trial starts from (not Hydra's own, not `n_trials=`)."""
    return [o for o in overrides if not o.startswith(("hydra.", "n_trials="))]


def compose_trial(config_name: str, overrides: list[str]) -> DictConfig:
    """A trial's config, composed from the same config folders as the command (`./conf`'s search spaces and
    experiments too); a key the config does not have (in the space or the overrides) is one line."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized() and HydraConfig.get().searchpath:  # the command's hydra.searchpath=[file://conf]
        overrides = [f"hydra.searchpath=[{','.join(HydraConfig.get().searchpath)}]", *overrides]
    try:
        return compose(config_name=config_name, overrides=overrides)
    except Exception as e:
        first = (str(e).splitlines() or [type(e).__name__])[0]
        if first.startswith("Could not override '"):  # a key of the space (or of the overrides) the config lacks
            bad = first.split("'")[1]
            others = [o for o in overrides if o.partition("=")[0].lstrip("+~") != bad]
            first = str(unknown_key(bad, overrides, "tune", lambda: compose(config_name, others), addable=False))
        raise TextgruError(f"search space: {first}") from e
