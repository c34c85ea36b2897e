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


def check_same_tokenizer(tokenizer: Any, run: RunFolder, ckpt: dict[str, Any] | None = None) -> None:
    """A resumed run must read its data as the run did: the tokenizer rebuilt from the data must be the saved one. A
    run started before textgru recorded its carving rule (`ckpt` without split_rule) that carves its splits from its
    file may have carved them otherwise (an upgrade review: told its data changed, which it had not): one line naming
    that where the tokenizer differs, a warning where it came out equal (the splits may still differ)."""
    from textgru.data.splitting import SPLIT_RULE
    from textgru.data.tokenization import read_tokenizer_file

    meta = (ckpt or {}).get("textgru") or {}
    data = meta.get("data_config") or {}
    carves = data.get("source") == "local" and not (data.get("validation_path") and data.get("test_path"))
    older = ckpt is not None and meta.get("label_names") is not None and meta.get("split_rule") != SPLIT_RULE
    older = older and carves  # a classifier whose validation or test split was carved by an older rule
    then = "started by an older textgru, which may have carved its splits otherwise (its rule changed since)"
    fix = "start a new run, or finish this one with the textgru that started it"
    if tokenizer is not None and run.tokenizer.is_file():
        if tokenizer.to_str() != read_tokenizer_file(run.tokenizer).to_str():
            if older:
                edited = "" if meta.get("data_digest") else " (or its data changed since: it kept no digest of it)"
                raise TextgruError(
                    f"resume: the run was {then}: the tokenizer built from today's training split differs from "
                    f"{run.tokenizer}{edited}, so it cannot be resumed; {fix}"
                )
            raise TextgruError(
                f"the tokenizer built from the data now differs from {run.tokenizer}: the data changed since the run "
                "started, so it cannot be resumed; start a new run"
            )
    if older:
        log.warning(
            "resume: the run was %s: its splits of %s carved now may not be those it trained and validated on (its "
            "validation scores before and after would compare two sets, its test split may hold texts it trained on); "
            "%s",
            then,
            data.get("path"),
            fix,
        )


def check_resumed_data(datamodule: Any, run: RunFolder, ckpt: dict[str, Any]) -> None:
    """`check_same_tokenizer`, then a warning each where a checkpoint of an older textgru cannot go on as it started
    (an upgrade review): an LM's validation read in fewer lanes now (since 2026-12-05, before checkpoints kept a data
    digest), or a position inside an epoch without the training loader's place in it (a forecaster's, before 12-05; or
    a task's whose loader is no `ResumableDataLoader`, said so)."""
    check_same_tokenizer(getattr(datamodule, "tokenizer", None), run, ckpt)
    meta = ckpt.get("textgru") or {}
    if hasattr(datamodule, "eval_lanes") and "data_digest" not in meta:
        datamodule.setup("fit")  # built already (the tokenizer above): returns at once
        if (lanes := datamodule.eval_lanes("validation")) < datamodule.eval_batch_size:
            log.warning(
                "resume: the run was started by an older textgru, which may have read its validation text in %d lanes "
                "(data.eval_batch_size), not the %d it reads now: its validation losses before and after the resume "
                "may not compare, and its best checkpoint is chosen across both; start a new run for one definition",
                datamodule.eval_batch_size,
                lanes,
            )
    progress = ((ckpt.get("loops") or {}).get("fit_loop") or {}).get("epoch_loop.batch_progress") or {}
    done = int((progress.get("current") or {}).get("completed", 0) or 0)
    if "train_loader_position" not in ckpt and done and not progress.get("is_last_batch", True):
        from textgru.data.resumable_loader import ResumableDataLoader

        loader = datamodule.train_dataloader()  # built before (run_schedule.check_rank_loaders): cheap
        why = (
            " by an older textgru, which did not record the training loader's place in it"
            if isinstance(loader, ResumableDataLoader)
            else f", and task={meta.get('task')}'s training loader is a {type(loader).__name__}, not a "
            "ResumableDataLoader (textgru.data.resumable_loader), which records its place in an epoch"  # (a review)
        )
        log.warning(
            "resume: the checkpoint was saved %d batches into an epoch%s: the rest of that epoch is not the batches of "
            "a run never stopped",
            done,
            why,
        )
