"""A study's search space in Optuna's terms: the suggestion each parsed entry makes for a trial, and the check that
a resumed study is searched over the same space (keys, kinds and bounds) as its stored trials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

from textgru.errors import TextgruError


def suggest(trial: optuna.Trial, key: str, spec: Any) -> Any:
    """One Optuna suggestion for a parsed search-space entry (the mapping of Hydra's Optuna sweeper)."""
    if isinstance(spec, ChoiceSweep):
        return trial.suggest_categorical(key, list(spec.list))
    if isinstance(spec, IntervalSweep):
        log_scale = "log" in spec.tags
        if isinstance(spec.start, int) and isinstance(spec.end, int):
            return trial.suggest_int(key, spec.start, spec.end, log=log_scale)
        return trial.suggest_float(key, float(spec.start), float(spec.end), log=log_scale)
    if isinstance(spec, RangeSweep):
        step = spec.step or 1
        if all(isinstance(v, int) for v in (spec.start, spec.stop, step)):
            return trial.suggest_int(key, spec.start, spec.stop - step, step=step)
        return trial.suggest_float(key, spec.start, spec.stop - step, step=step)
    return spec  # a fixed value


def fixed_values(space: dict[str, Any]) -> dict[str, Any]:
    """The entries of a parsed search space that are one value (every trial takes it), not a search."""
    return {key: spec for key, spec in space.items() if not isinstance(spec, (ChoiceSweep, IntervalSweep, RangeSweep))}


def check_same_space(study: optuna.Study, space: dict[str, Any], study_dir: Path) -> None:
    """One line, before any trial, if the search space given now is not the stored study's: a key added or dropped,
    other bounds, choices or kind (Optuna refused only another kind or choices, at the first suggestion: a traceback
    and a trial left running)."""
    if not study.trials:
        return
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not "A new study created in memory"
    try:
        probe = optuna.create_study(storage=optuna.storages.InMemoryStorage()).ask()  # the space's distributions
    finally:
        optuna.logging.set_verbosity(verbosity)
    for key, spec in space.items():
        suggest(probe, key, spec)
    keep = (  # a review: the study name alone was refused where hydra.run.dir= had named the folder
        "a study keeps its search space: search it in a new study folder, with a new hparams_search.study_name= (or "
        "another hydra.run.dir=, where you gave one)"
    )
    stored_keys: set[str] = set()
    for trial in study.get_trials(deepcopy=False):  # bounds too (a review: a best trial from another space)
        stored_keys |= trial.distributions.keys()
        for key, stored in trial.distributions.items():
            if key in probe.distributions and stored != probe.distributions[key]:
                raise TextgruError(
                    f"hparams_search: {key} is searched differently now than in the study stored in {study_dir} "
                    f"(trial {trial.number}: {stored}; now: {probe.distributions[key]}); {keep}"
                )
    if stored_keys and stored_keys != probe.distributions.keys():
        added, dropped = (
            sorted(probe.distributions.keys() - stored_keys),
            sorted(stored_keys - probe.distributions.keys()),
        )
        said = "; ".join(f"{what} {', '.join(keys)}" for what, keys in (("adds", added), ("drops", dropped)) if keys)
        raise TextgruError(
            f"hparams_search: the space given now {said}, against the study stored in {study_dir}; {keep}"
        )
