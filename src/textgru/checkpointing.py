"""Writing checkpoints while training: atomically (a temporary file renamed into place), periodically (so a kill
loses at most a few minutes), and with what an exact resume needs besides Lightning's own state (random states,
the place in the epoch)."""

from __future__ import annotations

import errno
import logging
import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.trainer.states import TrainerFn

from textgru.data.resumable_loader import ResumableDataLoader
from textgru.errors import TextgruError
from textgru.lightning_state import checkpoints_where_they_are, count_the_last_step, end_the_saved_epoch

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes `<name>.tmp` then renames it over `<name>`: a crash mid-write never leaves a truncated file."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with open(tmp, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:  # a write's error names no file (a review): the checkpoint's is named
            if e.filename is not None or not e.errno:
                raise
            raise OSError(e.errno, e.strerror, str(path)) from e
        except RuntimeError as e:  # torch's writer says neither the file nor why: both, where they can be told
            if (code := _write_failure(tmp)) is None:
                raise
            raise OSError(code, os.strerror(code), str(path)) from e
        finally:
            if tmp.exists():
                tmp.unlink()


def _write_failure(tmp: Path) -> int | None:
    """Why writing `tmp` stopped, as an errno: the file-size limit reached (EFBIG), or its disk full (ENOSPC)."""
    try:
        import resource  # (POSIX only)

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and tmp.stat().st_size >= limit - (1 << 16):
            return errno.EFBIG
    except (ImportError, OSError):
        pass
    try:
        return errno.ENOSPC if shutil.disk_usage(tmp.parent).free < (1 << 20) else None
    except OSError:
        return None


class PeriodicCheckpoint(Callback):
    """Writes `<dirpath>/last.ckpt` after a training batch once `every_n_minutes` have passed since the last
    one (and every `every_n_steps` optimizer steps when set), besides the epoch-end checkpoints. Rank zero's
    clock decides, so every rank saves at the same step."""

    def __init__(self, dirpath: str | Path, every_n_minutes: float | None, every_n_steps: int | None) -> None:
        if every_n_minutes is not None and every_n_minutes <= 0:
            raise TextgruError(f"callbacks.checkpoint.every_n_minutes={every_n_minutes} must be > 0 (null: off)")
        if every_n_steps is not None and every_n_steps < 1:
            raise TextgruError(f"callbacks.checkpoint.every_n_steps={every_n_steps} must be >= 1 (null: off)")
        self.path = Path(dirpath) / "last.ckpt"
        self.seconds = None if every_n_minutes is None else 60.0 * every_n_minutes
        self.every_n_steps = every_n_steps
        self.last_save = time.monotonic()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.last_save = time.monotonic()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        due = self.seconds is not None and time.monotonic() - self.last_save >= self.seconds
        due |= bool(self.every_n_steps) and trainer.global_step % int(self.every_n_steps or 1) == 0
        if due and _validation_follows(trainer):
            return  # a checkpoint taken now would skip that validation on resume; the one saved after it serves
        if trainer.world_size > 1:
            due = bool(trainer.strategy.broadcast(due, src=0))
        if due:
            trainer.save_checkpoint(self.path)
            self.last_save = time.monotonic()
            log.info("saved %s at step %d", self.path, trainer.global_step)

    def after_validation(self, trainer: L.Trainer) -> None:
        """After every validation of a fit: Lightning (2.6) writes last.ckpt only where its best checkpoint changed,
        so without this a resume went back to the last improvement, however many epochs ago. Called by the task's
        module once every callback has seen the validation (`TaskModule.on_validation_end`): as a callback's hook it
        ran before ModelCheckpoint's, so a run killed between the two resumed without that validation's best (a
        review: another best.ckpt, and other test scores, than the run never stopped)."""
        if trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking and not trainer.fast_dev_run:
            trainer.save_checkpoint(self.path)
            self.last_save = time.monotonic()


def check_same_batches(ckpt: dict[str, Any], data: Any) -> None:
    """One line where a checkpoint taken inside an epoch is resumed with another `data.batch_size` (or `data.bptt`):
    the batches trained on are skipped by count, so batches of another size skipped examples never trained on (a
    review: 5 batches of 128 skipped, 5 of 64 trained), or trained some twice."""
    served = int((ckpt.get("train_loader_position") or {}).get("served", 0) or 0)
    progress = ((ckpt.get("loops") or {}).get("fit_loop") or {}).get("epoch_loop.batch_progress") or {}
    then = (ckpt.get("textgru") or {}).get("data_config") or {}
    for key in ("batch_size", "bptt") if served and not progress.get("is_last_batch", False) else ():
        if key in then and key in data and then[key] != data[key]:
            raise TextgruError(
                f"resume: data.{key}={data[key]}, but {ckpt.get('path', 'the checkpoint')} was saved {served} batches "
                f"of data.{key}={then[key]} into an epoch, and a resume skips the batches trained on by their count; "
                f"resume with data.{key}={then[key]} (a checkpoint at an epoch's end takes another)"
            )


def _validation_follows(trainer: L.Trainer) -> bool:
    """Whether Lightning validates right after the current training batch (epoch end or step interval)."""
    loop = trainer.fit_loop.epoch_loop
    try:
        return bool(loop._should_check_val_fx(trainer.fit_loop._data_fetcher))
    except (AttributeError, TypeError):  # another Lightning version: assume it might at an epoch's end
        return bool(loop.batch_progress.is_last_batch)


def gather_from_ranks(trainer: L.Trainer, obj: Any) -> list[Any]:
    """`obj` of every rank, in rank order (a collective: every rank calls it, as every rank builds each
    checkpoint's contents); `[obj]` in one process."""
    if trainer.world_size == 1 or not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return [obj]
    gathered: list[Any] = [None] * trainer.world_size
    torch.distributed.all_gather_object(gathered, obj)
    return gathered


def _random_state() -> dict[str, Any]:
    """The torch (CPU and CUDA), numpy and Python random states, as plain types and tensors (weights-only loading)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, state, next_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [
            str(kind),
            torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            int(pos),
            int(has_gauss),
            float(gauss),
        ],
        "python": [version, list(state), next_gauss],
    }


def check_random_states(checkpoint: dict[str, Any]) -> None:
    """Raise (TypeError, ValueError, ...) if a random state the checkpoint saved (`ExactResume`) cannot be set: each is
    tried on a generator of its own, so the process's states are left alone."""
    for saved in [checkpoint, *(checkpoint.get("per_rank") or [])]:
        state = saved.get("random_state")
        if state is None:  # a checkpoint written before random states were saved
            continue
        torch.Generator().set_state(state["torch"])
        kind, keys, pos, has_gauss, gauss = state["numpy"]
        np.random.RandomState().set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        version, py_state, next_gauss = state["python"]
        random.Random().setstate((version, tuple(py_state), next_gauss))


class ExactResume(Callback):
    """What a Lightning checkpoint leaves out and an exact resume needs: the torch, numpy and Python random
    states, and the training loader's place in its epoch (`ResumableDataLoader`). Both are stored in every
    checkpoint, for every rank of a data-parallel run (`per_rank`, gathered while the checkpoint is built); on
    resume each rank gets its own back (rank zero's when the number of processes changed). The place is set
    before the first batch is drawn and the random states just before the first training batch, so data order
    and dropout draws go on as if the run had never stopped.

    (Lightning stores resumable loaders' states too, but applies them only if it builds the train loader
    after restoring, and a schedule that reads `estimated_stepping_batches` builds it before.)"""

    def __init__(self) -> None:
        self.pending_random: dict[str, Any] | None = None
        self.pending_position: dict[str, Any] | None = None

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        mine: dict[str, Any] = {"random_state": _random_state()}
        loader = trainer.train_dataloader
        if isinstance(loader, ResumableDataLoader):
            mine["train_loader_position"] = loader.state_dict()
        checkpoint.update(mine)  # in the file: rank zero's, as in a checkpoint of one process
        count_the_last_step(trainer, checkpoint)
        ranks = gather_from_ranks(trainer, mine)
        if len(ranks) > 1:
            checkpoint["per_rank"] = ranks  # every rank's own, given back to it on resume

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        ranks = checkpoint.get("per_rank") or [checkpoint]
        mine = ranks[trainer.global_rank] if len(ranks) == trainer.world_size else checkpoint
        if len(ranks) != trainer.world_size and trainer.state.fn == "fit":  # not again when scoring (a review: 3x)
            log.warning(
                "resume: the checkpoint was written by %d process(es) and this run has %d: every rank goes on from "
                "rank zero's random state, so the run is not bit-identical to one never stopped",
                len(ranks),
                trainer.world_size,
            )
        self.pending_random = mine.get("random_state")
        self.pending_position = mine.get("train_loader_position")
        end_the_saved_epoch(trainer, checkpoint)
        checkpoints_where_they_are(trainer, checkpoint)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loader = trainer.train_dataloader
        if self.pending_position is not None and isinstance(loader, ResumableDataLoader):
            limit = trainer.num_training_batches  # `limit_train_batches` applied (inf: no length known)
            loader.epoch_length = int(limit) if limit != float("inf") else None
            loader.load_state_dict(self.pending_position)  # read when the epoch's first batch is drawn
            served = int(self.pending_position.get("served", 0))
            if 0 < served < min(len(loader), loader.epoch_length or len(loader)):
                log.info("resume: the epoch goes on after its first %d batches", served)
            else:
                log.info("resume: at the start of an epoch")
        self.pending_position = None

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.pending_random is None:
            return
        state, self.pending_random = self.pending_random, None
        torch.set_rng_state(state["torch"])
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
        kind, keys, pos, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        version, py_state, next_gauss = state["python"]
        random.setstate((version, tuple(py_state), next_gauss))
