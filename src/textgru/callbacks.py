"""Lightning callbacks of a textgru run: the task's artifacts written by rank zero after testing, training throughput
in real tokens/s, a stop where the loss is not finite, a line per epoch, and the progress bar (the run's progress:
run_progress.py; the check that every data-parallel rank trains the same thing: rank_setups.py)."""

from __future__ import annotations

import logging
import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, RichProgressBar, TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

from textgru.distributed import log_in_a_spawned_rank
from textgru.errors import EveryRankError
from textgru.run_folder import RunFolder

log = logging.getLogger(__name__)


class RunArtifacts(Callback):
    """Asks the task to write its plots and files (`TaskModule.write_artifacts`) on rank zero when testing ends,
    inside the process that ran the test (with `ddp_spawn` that is a worker, which holds the tested weights and
    metric states; a worker logs as the launching process does, set up when it starts)."""

    def __init__(self, run: RunFolder) -> None:
        self.run = run

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        log_in_a_spawned_rank(self.run.train_log, trainer.is_global_zero)  # its epoch lines and artifacts' notes

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            pl_module.write_artifacts(trainer.datamodule, self.run)


class TokensPerSecond(Callback):
    """Training throughput in real (unpadded) tokens per second summed over all ranks, timed from the start
    of batch `skip` of each epoch (after warm-up) to the end of its last batch, with validations in between
    left out; logged as `train/tokens_per_sec` when the epoch ends."""

    def __init__(self, skip: int = 3) -> None:
        self.skip = skip
        self.logged_in_epoch = -1  # the epoch last timed (one too short to time is not: EpochLines leaves it out)
        self.on_train_epoch_start()

    def on_train_epoch_start(self, *_: Any) -> None:
        self.batches, self.tokens, self.start, self.end = 0, 0, None, None
        self.validating_since, self.validation_seconds, self.excluded = None, 0.0, 0.0

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.batches == self.skip:
            self.start = time.perf_counter()
        self.excluded += self.validation_seconds  # a validation between two timed batches is not training time
        self.validation_seconds = 0.0

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.batches += 1
        if self.start is not None:
            self.tokens += pl_module.count_tokens(batch)
            self.end = time.perf_counter()

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == "fit" and not trainer.sanity_checking and self.start is not None:  # a review: it read
            self.validating_since = time.perf_counter()  # trainer.training, false here: validations counted as training

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.validating_since is not None:
            self.validation_seconds += time.perf_counter() - self.validating_since
            self.validating_since = None

    def rate_so_far(self, world_size: int) -> float | None:
        """This epoch's rate until now, from this rank's tokens times the ranks (no collective: for a checkpoint)."""
        if self.start is None or self.end is None or self.end - self.start - self.excluded <= 0:
            return None
        return float(self.tokens) * world_size / (self.end - self.start - self.excluded)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.start is None or self.end is None or self.end - self.start - self.excluded <= 0:
            return  # every rank has the same number of batches, so all ranks agree on this
        tokens = trainer.strategy.reduce(
            torch.as_tensor(self.tokens, dtype=torch.float64, device=pl_module.device), reduce_op="sum"
        )
        seconds = self.end - self.start - self.excluded
        pl_module.log("train/tokens_per_sec", float(tokens) / seconds, on_epoch=True, rank_zero_only=True)
        self.logged_in_epoch = trainer.current_epoch


class ValidateAtRunEnd(Callback):
    """A run's last steps are validated and saved, whichever limit ends it. `trainer.max_steps` inside an epoch
    trained its last steps without validating or saving them (a review: last.ckpt stayed at step 16 of 20, best.ckpt
    never saw the last 4): at that step Lightning is asked to stop, which validates first, as for early stopping. A
    run whose last epoch (by max_steps or max_epochs) is not one `trainer.check_val_every_n_epoch` validates lost
    that epoch the same way (a review: last.ckpt at step 10 of 12): its end is validated too. A run resumed from
    such an end (to train more epochs) finishes that epoch as validated, as Lightning does for one it validates (it
    trained one batch more: step 76 of 75, another review)."""

    every: int | None = None  # trainer.check_val_every_n_epoch and val_check_batch as configured
    val_check_batch: Any = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.every, self.val_check_batch = trainer.check_val_every_n_epoch, trainer.val_check_batch
        epoch_loop = trainer.fit_loop.epoch_loop  # restored from a checkpoint here, before the resumed epoch goes on
        saved_after_its_last_batch = epoch_loop.batch_progress.current.completed >= trainer.num_training_batches
        if epoch_loop.restarting and saved_after_its_last_batch and trainer.num_training_batches != float("inf"):
            # Lightning asks its settings whether the epoch's last step is one it validates and, where not (an end
            # this callback validated, or settings changed since), trains a batch more: for this epoch, it is one
            trainer.check_val_every_n_epoch, trainer.val_check_batch = None, trainer.num_training_batches

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.check_val_every_n_epoch = self.every  # as configured, in every epoch after one this changed
        trainer.val_check_batch = self.val_check_batch

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        every, epoch, batch_idx = trainer.check_val_every_n_epoch, trainer.current_epoch, args[-1]
        unvalidated = every is not None and (epoch + 1) % every != 0
        last_batch = 0 < (trainer.max_epochs or 0) <= epoch + 1 and batch_idx + 1 >= trainer.num_training_batches
        if 0 < trainer.max_steps <= trainer.global_step or (last_batch and unvalidated):
            trainer.should_stop = True
            if unvalidated:  # Lightning validates a stopping step only in an epoch it validates
                trainer.check_val_every_n_epoch = None


class FiniteLoss(Callback):
    """One line where the training loss or a weight about to be saved is NaN or infinite: the run stops there, diverged,
    no checkpoint of such weights written (a review: a run that trained NaN from its first step "finished", exit 0, its
    metrics NaN and its checkpoints refused by `predict`; the review of that change: the step that made the weights NaN
    had a finite loss, and last.ckpt saved them)."""

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, *args: Any) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):  # the processes' mean (a review: one rank's NaN left the others waiting)
            loss = trainer.strategy.reduce(loss.detach().float().mean(), reduce_op="mean")
            if not bool(torch.isfinite(loss)):
                _diverged(trainer, f"the training loss is {float(loss)}")

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        bad = next((n for n, p in pl_module.named_parameters() if not bool(torch.isfinite(p.detach()).all())), None)
        if bad is not None:
            _diverged(trainer, f"the weights ({bad}) hold NaN or infinite values")


def _diverged(trainer: L.Trainer, what: str) -> None:
    raise EveryRankError(
        f"{what} at step {trainer.global_step} (epoch {trainer.current_epoch}): training diverged, and stopped before saving "
        "those weights; lower optimizer.lr"
    )


class ProgressBar(RichProgressBar):
    """Lightning's rich progress bar (its default where `rich` is installed), except that a run measured in steps
    (`trainer.max_epochs=-1`, as `task=lm`) shows "Epoch 3", not "Epoch 3/-2"."""

    def _get_train_description(self, current_epoch: int) -> str:
        if self.trainer.max_epochs is not None and self.trainer.max_epochs < 0:
            return f"Epoch {current_epoch}".ljust(len(self.validation_description))
        return super()._get_train_description(current_epoch)


class NotebookBar(TQDMProgressBar):
    """Lightning's tqdm bar for a notebook without ipywidgets (text, redrawn in place), less its validation and
    sanity-check bars: there each left a line behind per batch (a review: 250 lines in a cell for a 12-epoch run)."""

    def init_validation_tqdm(self) -> Tqdm:
        return Tqdm(disable=True)

    def init_sanity_tqdm(self) -> Tqdm:
        return Tqdm(disable=True)


class EpochLines(Callback):
    """A log line for each training epoch: its training and validation metrics. In `train.log` always, and on the
    console where no progress bar is drawn live (stdout is a file or pipe: a batch job's log, `nohup`), so that a
    long run shows its progress there too, not only when it ends."""

    def __init__(self, console: bool) -> None:
        self.console = console
        self.validations = self.shown = 0  # validations run, and those whose metrics a line has shown

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.validations += not trainer.sanity_checking

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        validated, self.shown = self.validations > self.shown, self.validations  # a review: an epoch without a
        metrics = {  # validation repeated the last one's numbers as if new
            k.removesuffix("_epoch"): float(v)
            for k, v in trainer.callback_metrics.items()
            if k.startswith(("train/", "val/" if validated else "train/"))
            and not k.endswith("_step")
            and v.numel() == 1
        }
        timer = next((c for c in trainer.callbacks if isinstance(c, TokensPerSecond)), None)
        if timer is not None and timer.logged_in_epoch != trainer.current_epoch:  # a review: the last epoch's shown
            metrics.pop("train/tokens_per_sec", None)
        if not metrics:  # a resumed run re-entering the end of the epoch its checkpoint was saved in: said already
            return
        shown = "  ".join(f"{k} {v:.4g}" if abs(v) < 1e4 else f"{k} {v:.0f}" for k, v in sorted(metrics.items()))
        log.info(
            "epoch %d (step %d): %s", trainer.current_epoch, trainer.global_step, shown, extra={"console": self.console}
        )
