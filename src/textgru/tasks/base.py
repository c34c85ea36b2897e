"""What every task shares: the LightningModule base (optimizer + per-step schedule, the exact global-batch mean
under data parallelism, self-contained checkpoints) and the small helpers task builders use."""

from __future__ import annotations

import functools
import inspect
import logging
import math
import re
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torchmetrics import Metric

from textgru.command_line_checks import one_line
from textgru.config_checks import ENDLESS_SCHEDULE
from textgru.errors import TextgruError
from textgru.run_folder import RunFolder
from textgru.stopping import early_stopped

log = logging.getLogger(__name__)
LARGE_VOCABULARY_PARAMETERS = 10_000_000  # parameters with a row per token beyond which a warning says what they cost


class TaskModule(L.LightningModule):
    """Holds `model`; builds the optimizer from a `_partial_` factory and the schedule over the run's steps;
    stores `checkpoint_extras` (tokenizer, labels, model class and arguments) in every checkpoint.

    A task's module says what is special about it: `count_tokens(batch)` (real, unpadded tokens, for the
    throughput figure) and `write_artifacts(datamodule, run)` (its plots and files after testing)."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        checkpoint_extras: dict | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.checkpoint_extras = checkpoint_extras or {}

    def count_tokens(self, batch: dict[str, Any]) -> torch.Tensor:
        """The real tokens (or time steps) of a training batch, as a tensor on its device (no host sync)."""
        raise NotImplementedError

    def write_artifacts(self, datamodule: L.LightningDataModule, run: RunFolder) -> None:
        """The task's plots and files, written by rank zero when testing ends."""

    def on_validation_epoch_start(self) -> None:
        self.reset_metrics("val")

    def on_test_epoch_start(self) -> None:
        self.reset_metrics("test")

    def on_validation_end(self) -> None:  # after every callback's (ModelCheckpoint's too): last.ckpt holds their state
        from textgru.checkpointing import PeriodicCheckpoint

        for callback in self.trainer.callbacks:
            if isinstance(callback, PeriodicCheckpoint):
                callback.after_validation(self.trainer)

    def reset_metrics(self, stage: str) -> None:
        """Every metric state of `stage` (a metric named with it: `eval_losses.val`, `test_confusion`) back to empty
        before the stage runs: ranks that `ddp_spawn` starts for `validate` or `test` are sent this module as the
        training ranks left it, with the last validation's sums still in it (a review: a sweep trial's val/loss
        counted that validation twice)."""
        for name, module in self.named_modules():
            if isinstance(module, Metric) and stage in re.split(r"[._/]", name):
                module.reset()

    def optimizer_params(self) -> Any:
        """What the optimizer trains: every model parameter, or parameter groups each with an `lr_scale` (a
        factor on the configured lr: discriminative learning rates)."""
        return self.model.parameters()

    def configure_optimizers(self) -> Any:
        optimizer = built_with("optimizer", self.optimizer_factory, params=self.optimizer_params())
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * group.pop("lr_scale", 1.0)  # before the schedule reads its base lrs
        if self.scheduler_factory is None:
            return optimizer
        steps = self.trainer.estimated_stepping_batches
        if not math.isfinite(steps):
            raise TextgruError(ENDLESS_SCHEDULE)
        scheduler = built_with("scheduler", self.scheduler_factory, optimizer=optimizer, num_training_steps=int(steps))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def configure_gradient_clipping(
        self, optimizer: Any, gradient_clip_val: Any = None, gradient_clip_algorithm: Any = None
    ) -> None:
        """`trainer.gradient_clip_val` per member of a model of several (`model.members`: a member's update does not
        depend on the others' gradients, as separately trained models' do not); one clip over all parameters else,
        and under FSDP and DeepSpeed (their sharded gradients are clipped by Lightning's own clipping only)."""
        groups = self.model.member_parameters() if hasattr(self.model, "member_parameters") else []
        sharded = type(self.trainer.strategy).__name__ in ("FSDPStrategy", "DeepSpeedStrategy")
        if len(groups) < 2 or not gradient_clip_val or sharded:
            return super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
        for params in groups:
            if gradient_clip_algorithm == "value":
                torch.nn.utils.clip_grad_value_(params, gradient_clip_val)
            else:
                torch.nn.utils.clip_grad_norm_(params, gradient_clip_val)

    def global_sums(self, *values: torch.Tensor) -> list[torch.Tensor]:
        """The values (detached, as floats) summed over all ranks, the same on every rank: what a logged training
        loss needs to be the global batch's at each step and the mean over every example at the epoch's end
        (Lightning's `sync_dist` averages the ranks' means, and floors its average of their batch sizes)."""
        sums = torch.stack([v.detach().float() for v in values])  # a new tensor: the strategy reduces in place
        if self._trainer is not None and self._trainer.world_size > 1:
            sums = self.trainer.strategy.reduce(sums, reduce_op="sum")
        return list(sums)

    def global_mean(
        self, total: torch.Tensor, count: torch.Tensor, global_count: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`total / count` for one process; under data-parallel training this rank's `total` divided by the count
        over all ranks (`global_count`, where the caller summed it already), times the world size, so that DDP's
        average of the ranks' gradients is exactly the gradient of the mean over the global batch (the same step
        one process takes)."""
        world = self._trainer.world_size if self._trainer is not None else 1
        if world == 1:
            return total / count.clamp(min=1)
        if global_count is None:
            (global_count,) = self.global_sums(count)  # a copy: the caller's count stays its own
        return total * world / global_count.clamp(min=1)

    def on_train_start(self) -> None:  # resumed from a checkpoint saved after early stopping had ended the training
        if getattr(self, "_resumed_early_stopped", False):  # (a review: a run stopped while scoring trained one more
            log.info("early stopping had ended the training: the resume scores the run")  # epoch, another best)
            self.trainer.should_stop = True

    def on_train_epoch_start(self) -> None:
        # Lightning sets the epoch on samplers, not on batch samplers: a new batch order every epoch (the same on
        # every rank: the classifier's and biLM's length buckets, the forecaster's windows)
        batch_sampler = getattr(self.trainer.train_dataloader, "batch_sampler", None)
        if hasattr(batch_sampler, "set_epoch"):
            batch_sampler.set_epoch(self.current_epoch)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["textgru"] = self.checkpoint_extras  # self-contained: loads with weights_only=True
        checkpoint["early_stopped"] = early_stopped(self._trainer)  # read by a resume (on_load_checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._resumed_early_stopped = bool(checkpoint.get("early_stopped"))
        if isinstance(lm := (checkpoint.get("textgru") or {}).get("pretrained_lm"), dict):  # a resume reads no LM
            self.checkpoint_extras.setdefault("pretrained_lm", lm)


def plain(cfg: Any) -> Any:
    """A config node as plain Python containers (resolved)."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def build_model(model_cfg: dict[str, Any], *builder_keys: str) -> nn.Module:
    """The model a (trusted, composed) `model` config names with `_target_`, without the keys its task's builder
    consumes itself (e.g. `pretrained_embeddings`); its errors as one line."""
    try:
        return instantiate({k: v for k, v in model_cfg.items() if k not in builder_keys})
    except InstantiationException as e:
        cause = e.__cause__ or e
        if isinstance(cause, TextgruError):
            raise cause from e
        raise TextgruError(f"model config: {str(cause).splitlines()[-1]}") from e


def build_optimizer(cfg: DictConfig) -> Callable[..., torch.optim.Optimizer]:
    """The `_partial_` optimizer factory of `cfg.optimizer` (the parameters come later)."""
    return _checked_factory(cfg, "optimizer", "optimizer=adamw|adam")


def build_scheduler(cfg: DictConfig) -> Callable[..., Any] | None:
    """The `_partial_` schedule factory of `cfg.scheduler`, or None for `scheduler=none`."""
    if not cfg.scheduler:
        return None
    return _checked_factory(cfg, "scheduler", "scheduler=warmup_cosine|one_cycle|slanted_triangular|none")


def _checked_factory(cfg: DictConfig, group: str, choices: str) -> Callable[..., Any]:
    """The `_partial_` factory of `cfg.<group>`, its keys checked against what its target takes: a misspelt or
    unknown key (`+optimizer.bar=2`) is one line before training, not a traceback when the optimizer is built."""
    try:
        factory = instantiate(cfg[group])
    except InstantiationException as e:
        raise one_line(e) from e
    if not callable(factory):
        raise TextgruError(
            f"{group} config builds no factory (a _target_ with _partial_: true); choose one with {choices}"
        )
    if not isinstance(factory, functools.partial):  # a function of the user's that returns the factory
        return factory
    try:
        inspect.signature(factory.func).bind_partial(*factory.args, **factory.keywords)
    except TypeError as e:
        name = getattr(factory.func, "__qualname__", group)
        raise TextgruError(f"{group}: {name} {e}; fix or remove that {group}.* key") from None
    except ValueError:  # no signature to read (a builtin): its own call reports
        pass
    return factory


def built_with(group: str, factory: Callable[..., Any], **kwargs: Any) -> Any:
    """`factory(**kwargs)`: what the optimizer or schedule refuses in its values is one line naming `group`."""
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as e:
        said = " ".join(str(e).split())
        if "num_training_steps" in said:  # StepLR: not a key of the user's; textgru passes it to every schedule
            said += " (textgru builds a schedule with optimizer= and num_training_steps=: a _target_ taking both)"
        raise TextgruError(f"{group}: {said}; fix that {group}.* value") from e


def count_parameters(model: nn.Module) -> str:
    return f"{sum(p.numel() for p in model.parameters()):,}"


def log_model_size(model: nn.Module, vocab_size: int, labels: list[str] | None = None) -> None:
    """The model's parameters and vocabulary in the log; a warning where the parameters with a row per token (the
    embedding, a full output layer) pass `LARGE_VOCABULARY_PARAMETERS`: Adam updates every row at every step and a
    checkpoint holds them up to four times, which a user who raised `tokenizer.vocab_size` does not expect."""
    said = f"; labels {labels}" if labels is not None and len(labels) <= 20 else ""  # a review: 5,000 on one line
    said = f"; {len(labels)} labels: {labels[:20]} and {len(labels) - 20} more" if labels and not said else said
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)  # a frozen biLM's
    said = (f" ({frozen:,} of them frozen)" if frozen else "") + said
    log.info("model: %s parameters%s; vocabulary %d", count_parameters(model), said, vocab_size)
    per_token = sum(p.numel() for p in model.parameters() if p.dim() and p.shape[0] == vocab_size)
    if per_token > LARGE_VOCABULARY_PARAMETERS:
        log.warning(
            "a vocabulary of %d tokens gives the model %.1fM parameters with a row per token (of %.1fM): every "
            "training step updates all of them and a checkpoint holds them up to four times (weights, Adam's two "
            "moments, the weight average: ~%d MB), so training is slower; a smaller tokenizer.vocab_size, a larger "
            "tokenizer.min_frequency or tokenizer=bpe keeps them small",
            vocab_size, per_token / 1e6, sum(p.numel() for p in model.parameters()) / 1e6, 16 * per_token // 2**20,
        )  # fmt: skip


def model_args(model_cfg: dict[str, Any], *builder_keys: str) -> dict[str, Any]:
    """The model config without `_target_` and the keys its builder consumes (not constructor arguments)."""
    return {k: v for k, v in model_cfg.items() if k != "_target_" and k not in builder_keys}
