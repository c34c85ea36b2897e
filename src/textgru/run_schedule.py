"""The run's schedule fitted to its data once the datamodule knows how many steps an epoch has: validation moved to
the run's end when the run would end before its first one, and more (short) epochs where `trainer.min_steps` asks for
more steps than `max_epochs` epochs hold; each process's loaders built before training, so that data too small for
them is one line then."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import lightning as L
import yaml
from omegaconf import DictConfig, open_dict

from textgru.errors import TextgruError

log = logging.getLogger(__name__)


def fit_run_to_data(cfg: DictConfig, dm: L.LightningDataModule) -> None:
    """Every check and fit of the run to its data that needs the data's size, before the run folder gets a file."""
    check_rank_loaders(cfg, dm)
    fit_epochs_to_min_steps(cfg, dm)
    fit_validation_to_run(cfg, dm)


EVALUATED = (("val", "validation", "eval_batch_size"), ("test", "test", "eval_batch_size"))  # stage, split, batch


def check_rank_loaders(cfg: DictConfig, dm: L.LightningDataModule) -> None:
    """Build the loaders each process will build, so that a split they refuse (fewer examples than processes), or a
    fractional `trainer.limit_*_batches` that leaves a process less than one of its batches (Lightning's
    MisconfigurationException, on that rank only), is one line before training (reviews: a 1-example test split of a
    2-process run was refused by both, after training; limit_val_batches=0.5 of 1 batch was a traceback, and under
    DDP rank zero's line blamed a lost process)."""
    from textgru.distributed import several_processes, world_size

    trainer = cfg.trainer
    processes = (world_size(trainer) or 1) if several_processes(trainer) else 1
    for rank in range(processes):  # an evaluation rank may have fewer batches (`LengthBucketBatchSampler`)
        with _as_rank(dm, processes, rank):
            for stage, split, size in (("train", "training", "batch_size"), *EVALUATED):
                limit = trainer.get(f"limit_{stage}_batches")
                if stage != "train" and limit == 0:  # Lightning builds none
                    continue
                batches = len(getattr(dm, f"{stage}_dataloader")())
                if trainer.get("fast_dev_run") or trainer.get("overfit_batches") or not isinstance(limit, float):
                    continue  # Lightning sets the limits of the first two itself
                if batches and int(batches * limit) < 1:
                    whose = f"process {rank}'s " if processes > 1 else ""
                    raise TextgruError(
                        f"trainer.limit_{stage}_batches={limit} of {whose}{batches} {split} batch(es) is less than one "
                        f"batch; use a whole number of batches, a larger fraction, or a smaller data.{size}"
                    )


@contextlib.contextmanager
def _as_rank(dm: L.LightningDataModule, processes: int, rank: int) -> Iterator[None]:
    """`dm`'s loaders as process `rank` of `processes` builds them (`batching.replicas_and_rank` reads its trainer)."""
    before, dm.trainer = dm.trainer, SimpleNamespace(world_size=processes, global_rank=rank)
    try:
        yield
    finally:
        dm.trainer = before


def fit_validation_to_run(cfg: DictConfig, dm: L.LightningDataModule) -> None:
    """A run that would end before its first validation (a step interval longer than the run, or
    `max_steps` inside the first epoch of an epoch-validated run) would have no best checkpoint and no
    metric for early stopping: validate at the run's end instead."""
    trainer = cfg.trainer
    interval = trainer.val_check_interval
    per_epoch = interval is None and trainer.check_val_every_n_epoch is not None
    if isinstance(interval, int) and trainer.check_val_every_n_epoch is not None and not trainer.fast_dev_run:
        if interval > (batches := _batches_per_process(cfg, dm)):  # a review: Lightning's traceback, a folder left
            raise TextgruError(
                f"trainer.val_check_interval={interval} is more than an epoch's {batches} training batches, and "
                "validation runs inside each epoch while trainer.check_val_every_n_epoch is set; set "
                f"trainer.check_val_every_n_epoch=null to validate every {interval} batches across epochs, or give "
                f"an interval <= {batches}"
            )
    if trainer.fast_dev_run or not (
        per_epoch or (isinstance(interval, int) and trainer.check_val_every_n_epoch is None)
    ):
        return
    batches = _batches_per_process(cfg, dm)  # a data-parallel rank's (a review: the whole epoch's, never reached)
    per_step = _batches_per_step(cfg)
    max_steps, max_epochs = trainer.max_steps or -1, trainer.max_epochs or -1
    if per_epoch:  # max_steps counts optimizer steps, val_check_interval training batches
        if 0 < max_steps * per_step < batches:
            log.info("validating after %d steps (trainer.max_steps ends the run inside the first epoch)", max_steps)
            with open_dict(cfg):
                cfg.trainer.val_check_interval, cfg.trainer.check_val_every_n_epoch = max_steps * per_step, None
        return
    candidates = [s for s in (max_steps * per_step, max_epochs * batches) if s > 0]
    total = min(candidates) if candidates else interval
    if total < interval:
        log.info("validating every %d batches (the run is shorter than trainer.val_check_interval=%d)", total, interval)
        with open_dict(cfg):
            cfg.trainer.val_check_interval = total


def _batches_per_epoch(cfg: DictConfig, dm: L.LightningDataModule, processes: int = 1) -> int:
    """Training batches in an epoch of each of `processes` (a data-parallel run's share of the data), as
    `trainer.limit_train_batches` limits them."""
    batches, limit = -(-len(dm.train_dataloader()) // processes), cfg.trainer.get("limit_train_batches")
    if isinstance(limit, int):
        return min(batches, limit)
    if isinstance(limit, float):
        return max(1, int(batches * limit))
    return batches


def _batches_per_process(cfg: DictConfig, dm: L.LightningDataModule) -> int:
    """Training batches in an epoch of each process, as `trainer.limit_train_batches` limits them: textgru's samplers
    take `batch_size` as the global batch and give every rank its share of each (`rank_share`), so a rank has as many
    batches as the whole (a review: counted as 1/world of them, a DDP run of max_steps=6 ended without validating,
    and val_check_interval=8 of 10 a rank was refused); only Lightning's own sampler
    (`trainer.use_distributed_sampler=true`) gives each rank 1/world of them."""
    from textgru.distributed import world_size

    sharded = bool(cfg.trainer.get("use_distributed_sampler"))
    return _batches_per_epoch(cfg, dm, (world_size(cfg.trainer) or 1) if sharded else 1)


def _batches_per_step(cfg: DictConfig) -> int:
    """Training batches per optimizer step (`trainer.accumulate_grad_batches`): `max_steps` and `min_steps` count
    optimizer steps, an epoch and `val_check_interval` count batches (a review: with 4 batches a step, a run of
    max_steps=5 validated after its fifth batch, "after 5 steps", and trained on to step 5)."""
    return max(1, int(cfg.trainer.get("accumulate_grad_batches") or 1))


def fit_epochs_to_min_steps(cfg: DictConfig, dm: L.LightningDataModule) -> None:
    """`trainer.min_steps` means at least that many optimizer steps: where `max_epochs` of this data's epochs would
    end the run sooner (few-label runs have short epochs), more epochs are run, and validated every k-th epoch
    so that the run validates about as often as `max_epochs` epochs would (validation would otherwise cost more
    than training). Lightning's own `min_steps` only holds early stopping back."""
    trainer = cfg.trainer
    min_steps, max_epochs, every = trainer.min_steps, trainer.max_epochs, trainer.check_val_every_n_epoch
    if not min_steps or trainer.fast_dev_run:
        return
    if 0 < (trainer.get("max_steps") or -1) < min_steps:  # max_steps wins, as in Lightning: the plan follows it
        log.warning(
            "trainer.max_steps=%d ends the run before trainer.min_steps=%d (the preset's, or yours) is reached",
            *(trainer.max_steps, min_steps),
        )
        min_steps = trainer.max_steps  # a review: Lightning ignored the stop at max_steps below min_steps, so the
        with open_dict(cfg):  # run's last step was neither validated nor saved as best.ckpt
            cfg.trainer.min_steps = min_steps
    if not max_epochs or max_epochs < 0:  # no epoch limit: min_steps is reached anyway
        return
    steps_per_epoch = max(1, -(-_batches_per_epoch(cfg, dm) // _batches_per_step(cfg)))  # the last one may be short
    needed = -(-int(min_steps) // steps_per_epoch)
    if needed <= max_epochs:
        return
    k = max(1, needed // max_epochs) if every == 1 and trainer.val_check_interval is None else every
    if k:
        needed = -(-needed // k) * k  # the last epoch is a validated one
    how = f"{k} epochs" if k else "trainer.val_check_interval steps"
    log.info(
        "training %d epochs of %d steps instead of %d (trainer.min_steps=%d), validating every %s",
        *(needed, steps_per_epoch, max_epochs, min_steps, how),
    )
    with open_dict(cfg):
        cfg.trainer.max_epochs = needed
        if k:
            cfg.trainer.check_val_every_n_epoch = k


def check_plan_goes_on(cfg: DictConfig, checkpoint: dict, asked: str | None = None) -> None:
    """One line where a resumed run's epochs end before the epoch its checkpoint is in (`asked`: the config as given,
    as YAML; None: `cfg` before the data is read, left to the call after `fit_epochs_to_min_steps` where
    `trainer.min_steps` may fit more epochs): a lowered `trainer.max_epochs` (a review: "finished" at once, stopped_by
    max_epochs, after config.yaml was rewritten), or epochs fitted to `trainer.min_steps`, fewer for a raised one (a
    review: Lightning's traceback, after the run folder had been set back for the resume). Lightning's `epoch` is the
    one begun: an epoch-end checkpoint's own count of epochs is taken (its run scored, as at max_steps)."""
    if asked is None and cfg.trainer.get("min_steps"):
        return
    planned, epoch, step = cfg.trainer.max_epochs, int(checkpoint.get("epoch") or 0), checkpoint.get("global_step")
    given = planned if asked is None else yaml.safe_load(asked)["trainer"]["max_epochs"]
    if planned is None or planned < 0 or epoch < planned:
        return
    if planned == given:
        raise TextgruError(
            f"resume: {checkpoint.get('path')} is at step {step}, in epoch {epoch + 1}, and trainer.max_epochs={given} "
            f"would end the run at once; give trainer.max_epochs of {epoch + 1} or more"
        )
    raise TextgruError(
        f"resume: trainer.min_steps={cfg.trainer.min_steps} takes {planned} epochs of this data, and the run is at step "
        f"{step}, in epoch {epoch + 1}, so trainer.max_epochs={given} trains nothing more; to train on, raise "
        f"trainer.min_steps above {step} too, or give trainer.max_epochs above {epoch + 1}"
    )
