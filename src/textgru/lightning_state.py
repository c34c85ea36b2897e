"""Lightning's (2.6) own loop and checkpoint-callback state in a checkpoint, mended where Lightning restores it wrongly
for an exact resume; each mend is guarded, so another Lightning version's checkpoint is left as it wrote it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L


def count_the_last_step(trainer: L.Trainer, checkpoint: dict[str, Any]) -> None:
    """A checkpoint saved where a run stops inside an epoch (trainer.max_steps, max_time) holds Lightning's step
    counter for logging one short (lowered for the epoch-end rows, and not added back on restore, as it is where the
    epoch ran to its end): a run resumed from it logged every later row one step low (a review). Stored as counted."""
    loop = trainer.fit_loop.epoch_loop
    state = (checkpoint.get("loops") or {}).get("fit_loop", {}).get("epoch_loop.state_dict")
    try:  # Lightning's private counters (2.6): another version's checkpoint is left as it wrote it
        progress, epoch_ended = loop.batch_progress.total, loop._num_ready_batches_reached()
    except (AttributeError, TypeError):
        return
    if (
        isinstance(state, dict)
        and state.get("_batches_that_stepped") == trainer.global_step - 1
        and progress.completed == progress.processed
        and not epoch_ended
    ):
        state["_batches_that_stepped"] = trainer.global_step


def end_the_saved_epoch(trainer: L.Trainer, checkpoint: dict[str, Any]) -> None:
    """A checkpoint saved at an epoch's end (ModelCheckpoint, in `on_train_epoch_end`: the epoch processed, not yet
    completed) is restored by Lightning (2.6) as that epoch ended, except where `trainer.max_steps` is set: then it
    re-enters the epoch's end and counts the epoch twice, so a resumed run skipped a whole epoch (a review: "finished in
    0 s", one epoch short, with the next epoch's shuffle). Stored as the epoch completed and the next not begun, which is
    what Lightning makes of it without a step limit."""
    loops = (checkpoint.get("loops") or {}).get("fit_loop") or {}
    epochs, batches = loops.get("epoch_progress"), loops.get("epoch_loop.batch_progress")
    try:  # Lightning's private counters (2.6): another version's checkpoint is left as it wrote it
        ended = all(
            epochs[p]["ready"] == epochs[p]["started"] == epochs[p]["processed"] == epochs[p]["completed"] + 1
            for p in ("total", "current")
        )
        if trainer.max_steps == -1 or not ended or not batches["is_last_batch"]:
            return
        for part in ("total", "current"):
            epochs[part]["completed"] = epochs[part]["processed"]
        batches["current"] = dict.fromkeys(batches["current"], 0)
        batches["is_last_batch"] = False
        # Lightning then takes one turn of its batch loop that trains nothing (a validation it reads as due at the
        # epoch's batch 0, skipped as done) and counts it as a step for logging: one less here, the rows as unstopped
        loops["epoch_loop.state_dict"]["_batches_that_stepped"] -= 1
    except (KeyError, TypeError):
        return


def checkpoints_where_they_are(trainer: L.Trainer, checkpoint: dict[str, Any]) -> None:
    """A run folder moved or copied since its checkpoint was saved: the best checkpoint's paths in it (Lightning's
    ModelCheckpoint state) named the old folder, which Lightning then read (a review: a moved run's resume failed after
    training on the missing file; a copy was scored on the original's model, and forgot its best score). Each path
    inside the old checkpoints folder is taken to the same file in the one the run writes now."""
    for callback in trainer.checkpoint_callbacks:
        state = (checkpoint.get("callbacks") or {}).get(callback.state_key)
        old, new = (state or {}).get("dirpath"), getattr(callback, "dirpath", None)
        if not isinstance(old, str) or not new or old == new:
            continue

        def moved(path: Any, old: str = old, new: str = str(new)) -> Any:
            inside = isinstance(path, str) and Path(path).parent == Path(old)
            return str(Path(new) / Path(path).name) if inside else path

        for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
            state[key] = moved(state.get(key))
        if isinstance(state.get("best_k_models"), dict):
            state["best_k_models"] = {moved(k): v for k, v in state["best_k_models"].items()}
        state["dirpath"] = new
