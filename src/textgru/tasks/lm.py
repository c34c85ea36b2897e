"""`task=lm`: a GRU language model on a text corpus (the built-in Shakespeare plays, a Hub corpus or your own text).

Documents -> one token stream per split -> `data.batch_size` lanes cut into `data.bptt`-token windows ->
`GRULanguageModel`, trained with truncated BPTT (the hidden state carried between windows, reset where the lanes
restart); cross-entropy in nats per token, perplexity and (character models) bits per character; learning curves
against steps and `samples.txt` (samples from the tested model) in the run folder."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig
from torch import nn
from torch.nn import functional as F

from textgru.atomic_files import write_text_atomic
from textgru.checkpoint import checkpoint_extras
from textgru.checkpointing import gather_from_ranks
from textgru.console import command_arg
from textgru.data.batching import rank_share
from textgru.data.lm_datamodule import IGNORE_INDEX, LanguageModelDataModule
from textgru.errors import TextgruError
from textgru.inference.generation import SamplingOptions, generate, unknown_said, unknown_text
from textgru.run_folder import RunFolder
from textgru.tasks.base import (
    TaskModule,
    build_model,
    build_optimizer,
    build_scheduler,
    log_model_size,
    model_args,
    plain,
)
from textgru.tasks.float64_sum import Float64Sum

log = logging.getLogger(__name__)
METRICS = ("loss", "ppl", "bpc")  # bpc only for character-level models


def validation_metrics(cfg: DictConfig) -> list[str]:
    """The validation metrics this task logs (what `optimized_metric` may name)."""
    return [f"val/{m}" for m in METRICS if m != "bpc" or cfg.tokenizer.kind == "char"]


def next_commands(run: RunFolder) -> list[str]:
    """What to run next with this run's checkpoint (printed when the run ends). No prompt: one in characters the
    corpus never had is refused, and the model starts a text of its own without one. What is optional is a trailing
    comment: the line runs as pasted (a review: `[prompt="..."]` was refused as an override)."""
    ckpt = command_arg("ckpt_path", run.best_checkpoint)
    return [f'textgru generate {ckpt} max_new_tokens=300   # add prompt="..." to go on from a text of yours']


def build(cfg: DictConfig) -> tuple[LanguageModelDataModule, LanguageModelTask]:
    """The datamodule (tokenizer trained on the training split, streams in lanes) and the LightningModule around a
    `GRULanguageModel`, with the sampling settings for `samples.txt`."""
    how = {"lowercase": "lowercase", "replace_urls": "URLs as xxurl", "replace_mentions": "@names as xxuser"}
    rewrites = [k for k in how if cfg.tokenizer.get(k)]  # a review: "lowercase" was said with lowercase=false
    if rewrites:  # tokenizer=bpe's defaults are the classifier's (a review: a model that wrote lowercase and xxurl)
        log.warning(
            "%s: the model learns and writes the text so rewritten (%s), not as written; set them false, or use "
            "tokenizer=byte_bpe, to keep it",
            *(", ".join(f"tokenizer.{k}=true" for k in rewrites), "; ".join(how[k] for k in rewrites)),
        )
    dm = LanguageModelDataModule(plain(cfg.data), plain(cfg.tokenizer), seed=cfg.seed)
    dm.setup("fit")
    prompt = cfg.task.sample_prompt if cfg.task.samples else None  # a review: samples.txt read it as [UNK], unsaid
    if prompt is not None and (unknown := unknown_text(dm.tokenizer, prompt)[1]):  # now, not after training
        shown, them = unknown_said(unknown)
        raise TextgruError(
            f"task.sample_prompt holds text this model's tokenizer has no token for: {shown}; remove {them}"
        )
    model_cfg = plain(cfg.model)
    model_cfg.update(vocab_size=dm.tokenizer.get_vocab_size(), padding_idx=dm.pad_id)
    model = build_model(model_cfg)
    extras = checkpoint_extras(
        "lm", model, model_args(model_cfg), dm.tokenizer.to_str(), None, plain(cfg.data), cfg.data.bptt
    )
    task = LanguageModelTask(
        model,
        optimizer=build_optimizer(cfg),
        scheduler=build_scheduler(cfg),
        char_level=cfg.tokenizer.kind == "char",
        checkpoint_extras=extras,
    )
    task.samples = int(cfg.task.samples)
    task.sample_prompt = cfg.task.sample_prompt
    task.sample_options = SamplingOptions(
        max_new_tokens=int(cfg.task.sample_tokens),
        num_samples=max(task.samples, 1),
        temperature=float(cfg.task.sample_temperature),
        seed=int(cfg.seed),
    ).check()
    log_model_size(model, dm.tokenizer.get_vocab_size())
    return dm, task


class LanguageModelTask(TaskModule):
    """Wraps a model with `forward(ids, hidden) -> (logits, hidden)`; logs `{stage}/loss|ppl` (and `bpc`)."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        char_level: bool = False,
        checkpoint_extras: dict | None = None,
    ) -> None:
        super().__init__(model, optimizer, scheduler, checkpoint_extras)
        self.char_level = char_level
        # summed loss and target count per evaluation stage: every target weighs the same, synced across ranks
        self.loss_sums = nn.ModuleDict({s: Float64Sum() for s in ("val", "test")})
        self.target_counts = nn.ModuleDict({s: Float64Sum() for s in ("val", "test")})
        self.hidden: dict[str, torch.Tensor | None] = {}
        self.samples, self.sample_prompt, self.sample_options = 0, None, SamplingOptions()  # set by build()

    def forward(self, ids: torch.Tensor, hidden: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(ids, hidden)

    def _loss_sum(self, batch: dict[str, Any], stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed cross-entropy over the window's real targets, and how many there were; carries the state."""
        hidden = None if batch["reset"] else self.hidden.get(stage)
        if hidden is not None and hidden.size(1) != batch["input_ids"].size(0):  # resumed with other lanes
            log.warning(
                "the carried state has %d lanes and the batch %d: starting from zeros",
                hidden.size(1),
                len(batch["input_ids"]),
            )
            hidden = None
        logits, hidden = self(batch["input_ids"], hidden)  # (lanes, time, vocab), (layers, lanes, hidden)
        self.hidden[stage] = hidden.detach()  # truncated BPTT: no gradient into the previous window
        targets = batch["targets"]  # (lanes, time)
        loss_sum = F.cross_entropy(
            logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
        )
        return loss_sum, (targets != IGNORE_INDEX).sum()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss_sum, count = self._loss_sum(batch, "train")
        loss = self.global_mean(loss_sum, count)  # synced below: the global batch's mean, not rank zero's
        self.log("train/loss", loss, on_step=True, on_epoch=False, prog_bar=True, sync_dist=True)
        return loss

    def _eval_step(self, batch: dict[str, Any], stage: str) -> None:
        loss_sum, count = self._loss_sum(batch, stage)
        self.loss_sums[stage].update(loss_sum.double())
        self.target_counts[stage].update(count.double())

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _log_eval(self, stage: str) -> None:
        loss = (self.loss_sums[stage].compute() / self.target_counts[stage].compute().clamp(min=1)).float()
        metrics = {f"{stage}/loss": loss, f"{stage}/ppl": torch.exp(loss.clamp(max=50))}
        if self.char_level:
            metrics[f"{stage}/bpc"] = loss / math.log(2)
        self.log_dict(metrics, prog_bar=stage == "val")
        self.loss_sums[stage].reset()
        self.target_counts[stage].reset()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        hidden = self.hidden.get("train")
        ranks = gather_from_ranks(self.trainer, None if hidden is None else hidden.cpu())  # every rank's lanes
        if all(h is not None for h in ranks):
            # (layers, lanes, hidden): the ranks' contiguous shares of the lanes in rank order, which is the layout
            # of one process; a resumed run carries the same state on
            checkpoint["train_hidden"] = torch.cat(ranks, dim=1)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        hidden = checkpoint.get("train_hidden")
        trainer = self._trainer
        if hidden is not None and trainer is not None and trainer.world_size > 1:
            hidden = hidden[:, rank_share(hidden.size(1), trainer.world_size, trainer.global_rank)]  # this rank's lanes
        self.hidden["train"] = hidden.to(self.device) if hidden is not None else None

    def on_validation_epoch_end(self) -> None:
        self._log_eval("val")

    def on_test_epoch_end(self) -> None:
        self._log_eval("test")

    def count_tokens(self, batch: dict[str, Any]) -> torch.Tensor:
        return (batch["targets"] != IGNORE_INDEX).sum()

    def write_artifacts(self, datamodule: L.LightningDataModule, run: RunFolder) -> None:
        """The learning curves against steps, and `samples` samples from the tested model in samples.txt."""
        from textgru.plots import plot_learning_curves

        plot_learning_curves(
            run.metrics_csv, run.learning_curves, metrics=("loss", "bpc" if self.char_level else "ppl"), x="step"
        )
        if not self.samples:
            return
        prompt = datamodule.first_line("test") if self.sample_prompt is None else self.sample_prompt
        options = self.sample_options
        allow = self.sample_prompt is None  # the test split's line may hold [UNK]s; build() refused a sample_prompt's
        try:
            texts = generate(self.model, datamodule.tokenizer, prompt, options, allow_unknown=allow)
        except TextgruError as e:  # a finished run stays finished: samples are a bonus
            log.warning("no samples.txt: %s", e)
            return
        head = f"# {self.samples} samples, temperature {options.temperature}, seed {options.seed}, prompt {prompt!r}\n"
        body = "".join(f"\n===== sample {i + 1} =====\n{prompt}{t}\n" for i, t in enumerate(texts))
        write_text_atomic(run.samples, head + body)
