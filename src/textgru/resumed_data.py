"""A resumed run reads its data as the run did: the tokenizer rebuilt from the data is the saved one, and what a
checkpoint records of its data (labels, a forecaster's normalisation statistics, window and horizon) is what the data
and settings give now."""

from __future__ import annotations

import logging
import math
from typing import Any

from textgru.errors import TextgruError
from textgru.run_folder import RunFolder

log = logging.getLogger(__name__)

DATA_RECORDS = {  # what a checkpoint records of the data it was trained on, which a resumed run must read alike
    "label_names": "labels",
    "normalisation": "normalisation statistics",
    "window": "data.window",
    "horizon": "data.horizon",
}


def check_same_data(ckpt: dict[str, Any], module: Any) -> None:
    """One line where the module built from the data and settings now records other data than the checkpoint (a
    review: labels renamed in the file, a forecaster's rescaled series or new window went on, best and last
    checkpoints apart)."""
    recorded, built = ckpt.get("textgru") or {}, getattr(module, "checkpoint_extras", {})
    for key, what in DATA_RECORDS.items():
        if key in recorded and not _alike(recorded[key], built.get(key)):
            then, now = (str(d.get(key))[:200] for d in (recorded, built))
            raise TextgruError(
                f"resume: the run's {what} changed since it started ({then} then, {now} now): a run goes on with the "
                "data and settings it started with; put them back, or start a new run"
            )
    _warn_of_changed_files(recorded.get("data_digest"), built.get("data_digest"), built.get("data_config") or {})


def _warn_of_changed_files(then: str | None, now: str | None, cfg: dict[str, Any]) -> None:
    """A warning naming each data file whose content changed since the run started (a review of the forecaster: an
    edited CSV went on unwarned, a classifier's too; a later one: an edited data.validation_path, whose scores, and
    the best checkpoint chosen by them, then compared two validation sets)."""
    from textgru.data.file_digest import changed_files

    for key in changed_files(then, now):
        named = next((f"data.{k} {cfg[k]}" for k in (key, "package_file") if cfg.get(k)), "the data files")
        log.warning(
            "resume: %s changed since the run started (the labels and statistics it records are the same): the run "
            "goes on with the data as it is now, and %s",
            named,
            CONSEQUENCES[key],
        )


CONSEQUENCES = {  # of each data file changed on resume
    "path": "its validation and test spans or splits may differ from those it started with",
    "validation_path": "its validation scores before and after are of two validation sets, and the best checkpoint "
    "is chosen across both; put the file back, or start a new run",
    "test_path": "its test scores are of the file as it is now, not as it was",
}


def _alike(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-9 (statistics computed again on another machine may differ in their last bits)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_alike(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_alike(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def check_same_tokenizer(tokenizer: Any, run: RunFolder) -> None:
    """A resumed run must read its data as the run did: the tokenizer rebuilt from the data must be the saved one."""
    from textgru.data.tokenization import read_tokenizer_file

    if (
        tokenizer is not None
        and run.tokenizer.is_file()
        and tokenizer.to_str() != read_tokenizer_file(run.tokenizer).to_str()
    ):
        raise TextgruError(
            f"the tokenizer built from the data now differs from {run.tokenizer}: the data changed since the run "
            "started, so it cannot be resumed; start a new run"
        )
