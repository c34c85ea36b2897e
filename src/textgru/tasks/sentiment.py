"""`task=sentiment`: document classification (sentiment first) with a BiGRU classifier.

Labelled data (the built-in tweets, a Hub dataset or your own files) -> a tokenizer trained on the training split
-> length-bucketed padded batches -> `GRUClassifier`; cross-entropy (class weights, label smoothing), accuracy and
macro-F1, a weight average (EMA) scoring validation and test; a confusion matrix and learning curves as PNGs. `data.train_size`/`train_fraction`: few-label runs (`textgru.data.subset`);
`model.pretrained_lm`: start from a `task=bilm` run and fine-tune (plain by default, ULMFiT's schedule as options:
`textgru.models.transfer`, `textgru.tasks.finetuning`)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

from textgru.checkpoint import checkpoint_extras
from textgru.config_keys import require_keys
from textgru.console import command_arg
from textgru.data.classification_datamodule import ClassificationDataModule
from textgru.errors import TextgruError
from textgru.models.gru_classifier import ensemble_logits
from textgru.run_folder import RunFolder
from textgru.tasks import finetuning
from textgru.tasks.base import (
    TaskModule,
    build_model,
    build_optimizer,
    build_scheduler,
    log_model_size,
    model_args,
    plain,
)

log = logging.getLogger(__name__)
METRICS = ("loss", "accuracy", "macro_f1")  # logged as train/, val/ and test/<metric>
FEW_LABEL_KEYS = ("train_size", "train_fraction", "subset_seed")


def validation_metrics(cfg: DictConfig) -> list[str]:
    """The validation metrics this task logs (what `optimized_metric` may name)."""
    return [f"val/{m}" for m in METRICS]


def next_commands(run: RunFolder) -> list[str]:
    """What to run next with this run's checkpoint (printed when the run ends)."""
    ckpt = command_arg("ckpt_path", run.best_checkpoint)
    return [f"textgru eval {ckpt}", f'textgru predict {ckpt} text="what a lovely day"']


def build(cfg: DictConfig) -> tuple[ClassificationDataModule, ClassificationTask]:
    """The datamodule (tokenizer trained on the training split) and the LightningModule around a `GRUClassifier`."""
    from textgru.models.glove import init_from_glove
    from textgru.models.gru_classifier import GRUClassifier
    from textgru.models.transfer import load_features, pretrained_start, transfer_weights

    model_cfg, data_cfg = plain(cfg.model), plain(cfg.data)
    lm = pretrained_start(model_cfg, plain(cfg.tokenizer), data_cfg, RunFolder(cfg.paths.run_dir).tokenizer)  # or None
    if lm is None:
        finetuning.warn_unused(plain(cfg.task.finetune))
    require_keys(data_cfg, FEW_LABEL_KEYS)  # few-label runs: a data config of your own needs them too (null: off)
    dm = ClassificationDataModule(
        data_cfg,
        plain(cfg.tokenizer),
        seed=cfg.seed,
        pretrained_tokenizer=lm.tokenizer if lm else None,
        **{k: data_cfg[k] for k in FEW_LABEL_KEYS},
    )
    dm.setup("fit")
    if lm is not None:
        lm.report_on(dm)  # its tokenizer's coverage, and the held-out texts it trained on
    labels, vocab, unk = dm.label_names, dm.tokenizer.get_vocab_size(), dm.tokenizer.token_to_id("[UNK]")
    model_cfg.update(vocab_size=vocab, num_classes=len(labels), padding_idx=dm.pad_id, unk_idx=unk)
    pretrained, features = model_cfg["pretrained_embeddings"], model_cfg.get("transfer") == "features"
    if features:  # the frozen LM's sizes; the classifier's own are its own
        model_cfg["lm_features"] = lm.feature_sizes()
    elif (unused := model_cfg.pop("feature_dropout", None)) is not None:  # not this model's: nor in its checkpoint
        if unused != inspect.signature(GRUClassifier).parameters["feature_dropout"].default:
            log.warning("model.feature_dropout=%s applies only with model.transfer=features; ignored", unused)
    builder_keys = ("pretrained_embeddings", "pretrained_lm", "transfer")  # no path to the LM: self-contained
    model = build_model(model_cfg, *builder_keys)
    if lm is not None and lm.state:  # resumed: the checkpoint's weights come next
        (load_features if features else transfer_weights)(model, lm.state)
    if pretrained not in ("glove-6b-50d", None):
        raise TextgruError(f"unknown model.pretrained_embeddings {pretrained!r}; use glove-6b-50d or null")
    if pretrained and (lm is None or features):  # fine-tuned: the LM's embedding replaces any GloVe start
        for i, member in enumerate(model.members):  # each member's own embedding (said once)
            init_from_glove(member.embedding, dm.tokenizer, quiet=i > 0)
    args = model_args(model_cfg, *builder_keys)
    extras = checkpoint_extras("sentiment", model, args, dm.tokenizer.to_str(), labels, data_cfg, cfg.data.max_length)
    extras |= {"pretrained_lm": lm.record} if lm is not None and lm.record else {}  # which LM file (a review)
    task = ClassificationTask(
        model,
        num_classes=len(labels),
        optimizer=build_optimizer(cfg),
        scheduler=build_scheduler(cfg),
        class_weights=class_weights(cfg.task.class_weights, dm.label_counts()),
        label_smoothing=cfg.task.label_smoothing,
        ema_decay=cfg.task.ema_decay,
        checkpoint_extras=extras,
        finetune=finetuning.FineTuning(**plain(cfg.task.finetune), planned_epochs=cfg.trainer.max_epochs)
        if lm is not None
        else None,
    )
    log_model_size(model, vocab, labels)
    return dm, task


def class_weights(spec: Any, counts: list[int]) -> list[float] | None:
    """`task.class_weights`: null, "balanced" (inverse label frequency) or one weight per label."""
    if spec in (None, "none"):
        return None
    if spec == "balanced":
        total = sum(counts)
        return [total / (len(counts) * max(c, 1)) for c in counts]
    weights = [float(w) for w in spec]
    if len(weights) != len(counts):
        raise TextgruError(f"task.class_weights has {len(weights)} values but there are {len(counts)} labels")
    return weights


def ema_update(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor, decay: float) -> torch.Tensor:
    """Exponential moving average whose decay warms up as (1 + n) / (10 + n), capped at `decay`, so that
    short runs average their recent weights instead of staying near the initial ones."""
    n = float(num_averaged)
    d = min(decay, (1.0 + n) / (10.0 + n))
    return d * averaged + (1.0 - d) * current


class ClassificationTask(TaskModule):
    """Wraps a classifier `nn.Module` taking `(input_ids, lengths)`; logs `{stage}/loss|accuracy|macro_f1`."""

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        ema_decay: float | None = None,
        checkpoint_extras: dict | None = None,
        finetune: finetuning.FineTuning | None = None,
    ) -> None:
        super().__init__(model, optimizer, scheduler, checkpoint_extras)
        self.finetune = finetune  # layer groups, lrs and unfreezing, for a model started from a pretrained biLM
        # an exponential moving average of the weights scores validation/test and is what gets exported
        self.ema = AveragedModel(model, avg_fn=partial(ema_update, decay=ema_decay)) if ema_decay else None
        if self.ema is not None:
            self.ema.requires_grad_(False)  # averaged, not trained (and so not a DDP-synchronised parameter)
        self.num_classes = num_classes
        weight = torch.tensor(class_weights, dtype=torch.float) if class_weights else None
        self.register_buffer("class_weight", weight)
        # summed, then divided by the summed weight of the batch (its size when unweighted): the mean
        self.loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing, reduction="sum")
        self.eval_losses = nn.ModuleDict({s: MeanMetric() for s in ("val", "test")})  # synchronised across ranks
        metrics = MetricCollection(
            {
                "accuracy": MulticlassAccuracy(num_classes, average="micro"),
                "macro_f1": MulticlassF1Score(num_classes, average="macro"),
            }
        )
        self.metrics = nn.ModuleDict({f"{s}_metrics": metrics.clone(prefix=f"{s}/") for s in ("train", "val", "test")})
        self.test_confusion = MulticlassConfusionMatrix(num_classes)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        model = self.ema.module if self.ema is not None and not self.training else self.model
        return model(input_ids, lengths)

    def optimizer_params(self) -> Any:
        if self.finetune is None:
            return self.model.parameters()
        return finetuning.discriminative_groups(self.model, self.finetune)

    def on_train_start(self) -> None:  # resumed mid-epoch: Lightning (2.6) calls no on_train_epoch_start, so every
        super().on_train_start()  # layer trained for the rest of that epoch (a review: not exact)
        if self.finetune is not None:
            # the trainer's (stretched) max_epochs sets the stage's length (a review: 1 epoch a stage without it)
            finetuning.unfreeze_for_epoch(self.model, self.current_epoch, self.finetune, self._trainer, warn=False)

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        if self.finetune is not None:
            finetuning.unfreeze_for_epoch(self.model, self.current_epoch, self.finetune, self.trainer)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        if self.ema is not None:  # here, not in on_train_batch_end: a checkpoint saved after the batch includes it
            self.ema.update_parameters(self.model)
            if getattr(self.model, "lm", None) is not None:  # frozen: averaging a constant only adds rounding
                self.ema.module.lm.load_state_dict(self.model.lm.state_dict())

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        labels = batch["labels"]
        members = 1
        if stage == "train" and hasattr(self.model, "member_logits"):  # each member's own loss: gradients as alone
            each = self.model.member_logits(batch["input_ids"], batch["lengths"])  # (members, batch, classes)
            logits, loss_sum, members = ensemble_logits(each), sum(self.loss_fn(m, labels) for m in each), len(each)
        else:  # validation and test score the model's output (with several members, their mean probabilities)
            logits = self(batch["input_ids"], batch["lengths"])  # (batch, classes)
            loss_sum = self.loss_fn(logits, labels)
        in_batch = labels.new_tensor(len(labels), dtype=torch.float)
        weight = in_batch if self.class_weight is None else self.class_weight[labels].sum()
        preds = logits.argmax(-1)
        self.metrics[f"{stage}_metrics"].update(preds, labels)
        if stage == "train":
            total, count, examples = self.global_sums(loss_sum, weight, weight.new_tensor(len(preds)))  # all ranks'
            loss = self.global_mean(loss_sum, weight, global_count=count)
            self.log("train/loss", total / (members * count), on_epoch=True, prog_bar=True, batch_size=int(examples))
        else:
            loss = loss_sum / weight
            self.eval_losses[stage].update(loss, weight=weight)
            self.log(f"{stage}/loss", self.eval_losses[stage], on_step=False, on_epoch=True, prog_bar=stage == "val")
        self.log_dict(self.metrics[f"{stage}_metrics"], on_step=False, on_epoch=True, prog_bar=stage == "val")
        if stage == "test":
            self.test_confusion.update(preds, batch["labels"])
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        # computed on every rank (the counts are summed across ranks); rank zero plots it after testing
        self.test_confusion_result = self.test_confusion.compute().tolist()

    def count_tokens(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return batch["lengths"].sum()

    def write_artifacts(self, datamodule: L.LightningDataModule, run: RunFolder) -> None:
        """The test confusion matrix and the learning curves, as PNGs."""
        from textgru.plots import plot_confusion_matrix, plot_learning_curves

        plot_confusion_matrix(
            self.test_confusion_result, datamodule.label_names, run.confusion_matrix, title="test confusion matrix"
        )
        plot_learning_curves(run.metrics_csv, run.learning_curves)
