"""The `hparams_search` section's own settings (not its `params`): the keys a search reads, each there, a sampler
and a pruner as Optuna classes, `params` a mapping; one line for anything else, before any work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textgru.errors import TextgruError

SEARCH_KEYS = {"study_name", "n_trials", "direction", "sampler", "pruner", "params"}
OPTUNA_CLASS = "a mapping with its _target_ (an optuna class)"
SHAPES = {"params": "{key: 'interval(lo, hi)', ...}", "sampler": OPTUNA_CLASS, "pruner": f"{OPTUNA_CLASS} or null"}


def refuse_unknown_search_keys(search: Any) -> None:
    """One line for a key of `hparams_search` that no search reads (a review: +hparams_search.seed=7 was ignored),
    one it lacks, or a sampler, pruner or params of the wrong shape (a review: tracebacks, a hand-written search file's
    too): `params` gone is `check_search_space`'s."""
    if not isinstance(search, Mapping) or "study_name" not in search:  # no search: `tune` names the fix
        return
    if missing := sorted({"n_trials", "sampler", "pruner"} - set(search)):
        raise TextgruError(
            f"hparams_search lacks {', '.join(missing)}; a search config sets study_name, n_trials, direction, sampler, "
            "pruner and params (textgru's conf/hparams_search/sentiment.yaml is one to start from)"
        )
    for key, null in (("sampler", False), ("pruner", True), ("params", False)):
        value = search.get(key)
        if key in search and not isinstance(value, Mapping) and not (null and value is None):
            shown = "null" if value is None else repr(value)
            raise TextgruError(f"hparams_search.{key}={shown} must be {SHAPES[key]}")
        if key != "params" and isinstance(value, Mapping) and "_target_" not in value:
            raise TextgruError(f"hparams_search.{key} has no _target_: name its class, e.g. optuna.{key}s.<Name>")
    if unknown := sorted(set(search) - SEARCH_KEYS):
        raise TextgruError(
            f"hparams_search.{unknown[0]} is not a search setting, and would be ignored; the settings are "
            f"{', '.join(sorted(SEARCH_KEYS))} (a sampler's seed: hparams_search.sampler.seed; the study's storage: "
            "its folder, hydra.run.dir=)"
        )
