"""Trials that a stopped search (Ctrl+C, SIGTERM, a kill) left running in its study, settled by the next call: one
that finished its run (its `metrics.json` was written before the stop reached the study) is recorded complete with
its value, or pruned; any other is failed and its parameters are queued to run again."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import optuna

from textgru.run_folder import RunFolder

log = logging.getLogger(__name__)
PRUNED_AT = "pruned_at_validation"  # a trial's user attribute: the validation step at which it was pruned


def settle_interrupted_trials(study: optuna.Study, study_dir: Path, metric: str) -> list[tuple[int, str]]:
    """Each running trial of `study` finished or failed (see the module); returns (number, state name) of each."""
    settled = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        value = _finished_value(study_dir / f"trial_{t.number:03d}", metric)
        if value is not None and t.user_attrs.get(PRUNED_AT) is not None:
            study.tell(t.number, state=optuna.trial.TrialState.PRUNED)
        elif value is not None:
            study.tell(t.number, value)
            log.info("trial %d had finished when its search was stopped: recorded, %s %.4g", t.number, metric, value)
        else:
            study.tell(t.number, state=optuna.trial.TrialState.FAIL)
            study.enqueue_trial(t.params, skip_if_exists=False)
            log.info("trial %d was interrupted; its parameters are queued again", t.number)
        settled.append((t.number, study.trials[t.number].state.name))
    return settled


def _finished_value(run_dir: Path, metric: str) -> float | None:
    metrics: dict[str, Any] = RunFolder(run_dir).read_metrics() or {}
    value = metrics.get(metric)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
