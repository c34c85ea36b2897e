"""`task=bilm`: a bidirectional GRU language model (ELMo-style) to pretrain the classifier on unlabelled text.

Texts (a text corpus, or the texts of a labelled data config with its labels ignored: `task=bilm data=tweets`
trains on the tweets' training texts only; validation and test texts are only scored) -> a tokenizer trained on
the training split -> each text its own right-padded sequence, as the classifier reads it ->
`BiGRULanguageModel`: a forward GRU predicting the next token, a backward GRU predicting the previous one.
Logs forward, backward and mean loss (nats per token) and perplexity; learning curves in the run folder.
`task=sentiment model.pretrained_lm=<this run>` fine-tunes the classifier from it (`textgru.models.transfer`)."""

from __future__ import annotations

import logging
import math
import shlex
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import yaml
from omegaconf import DictConfig
from torch import nn

from textgru.checkpoint import checkpoint_extras
from textgru.console import command_arg
from textgru.data.bilm_datamodule import BiLMDataModule
from textgru.data.tokenization import TOKENIZER_KEYS
from textgru.errors import TextgruError
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
DIRECTIONS = ("forward", "backward")
METRICS = ("loss", "ppl", "forward_loss", "backward_loss", "forward_ppl", "backward_ppl", "bpc")  # bpc: char only


def validation_metrics(cfg: DictConfig) -> list[str]:
    """The validation metrics this task logs (what `optimized_metric` may name)."""
    return [f"val/{m}" for m in METRICS if m != "bpc" or cfg.tokenizer.kind == "char"]


COLUMNS = ("text_column", "label_column", "ignore_labels")  # how a labelled file is read, as the biLM read it
FEW_LABELS = "add data.train_size=500 to fine-tune on 500 labelled examples"  # a comment: the line runs as pasted
YOURS = "data=local data.path=labelled.csv"  # where the biLM read no labels (a review: `data=<your labelled data>`)


def next_commands(run: RunFolder) -> list[str]:
    """What to run next with this run's checkpoint (printed when the run ends): fine-tune the classifier from it, with
    the sizes and tokenizer settings the transfer needs (each refused when it differs), on labelled data."""
    from textgru.config import data_config
    from textgru.data.splitting import CARVING
    from textgru.data.tokenization import NORMALIZER_KEYS
    from textgru.models.transfer import SIZES
    from textgru.override_values import override_value

    command = f"textgru train task=sentiment {command_arg('model.pretrained_lm', run.path)}"
    try:
        cfg = yaml.safe_load(run.config.read_text(encoding="utf-8"))
        tok = cfg["tokenizer"]
        sizes = [f"model.{k}={cfg['model'][k]}" for k in SIZES]
        keys = ("vocab_size", "min_frequency", *NORMALIZER_KEYS)
        normalised = [f"tokenizer.{k}={override_value(tok[k])}" for k in keys if k in tok]
        source = cfg["data"].get("source")
        data = [] if source == "tweets" else [YOURS]
        if source == "local":  # its paths, its own validation or test file too (a review: test_path was left out)
            given = {k: cfg["data"][k] for k in ("path", "validation_path", "test_path") if cfg["data"].get(k)}
            data = ["data=local", *(_path_arg(f"data.{k}", v) for k, v in given.items())]
        if source in ("tweets", "local"):  # labelled data read as texts: the classifier must split it alike (a review)
            default = data_config(source)
            data += [f"data.{k}={cfg['data'][k]}" for k in CARVING if cfg["data"].get(k, default[k]) != default[k]]
            read = [k for k in COLUMNS if k in default and cfg["data"].get(k, default[k]) != default[k]]
            data += [_path_arg(f"data.{k}", cfg["data"][k]) for k in read]  # a review: "column 'text' not found"
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return [f"{command}   # {FEW_LABELS}"]
    yours = "labelled.csv: your file of texts and labels; " if YOURS in data else ""
    return [" ".join([command, *sizes, f"tokenizer={tok['kind']}", *normalised, *data]) + f"   # {yours}{FEW_LABELS}"]


def _path_arg(key: str, value: Any) -> str:
    """`key=path` or `key=[a,b]` (or `key=null`) for the command line, each path (or name) quoted where it must be."""
    from textgru.console import hydra_quoted
    from textgru.data.ignored_labels import plain_text

    if value is None:
        return f"{key}=null"
    if isinstance(value, str):
        return command_arg(key, value)
    items = (str(v) if not isinstance(v, str) else v if plain_text(v) else hydra_quoted(v) for v in value)
    return shlex.quote(f"{key}=[{','.join(items)}]")


def build(cfg: DictConfig) -> tuple[BiLMDataModule, BiLanguageModelTask]:
    """The datamodule (texts only; tokenizer trained on the training split) and the LightningModule around a
    `BiGRULanguageModel` (embedding from GloVe where `model.pretrained_embeddings` says so)."""
    from textgru.models.glove import init_from_glove

    dm = BiLMDataModule(plain(cfg.data), plain(cfg.tokenizer), seed=cfg.seed)
    dm.setup("fit")
    model_cfg = plain(cfg.model)
    model_cfg.update(
        vocab_size=dm.tokenizer.get_vocab_size(), padding_idx=dm.pad_id, unk_idx=dm.tokenizer.token_to_id("[UNK]")
    )
    pretrained = model_cfg["pretrained_embeddings"]
    model = build_model(model_cfg, "pretrained_embeddings")
    if model_cfg["softmax"] == "adaptive" and model.softmax == "full":
        log.info("adaptive softmax: no cutoff below the vocabulary size %d; using a full softmax", model.vocab_size)
    if pretrained == "glove-6b-50d":
        init_from_glove(model.embedding, dm.tokenizer)
    elif pretrained:
        raise TextgruError(f"unknown model.pretrained_embeddings {pretrained!r}; use glove-6b-50d or null")
    args = model_args(model_cfg, "pretrained_embeddings")
    extras = checkpoint_extras("bilm", model, args, dm.tokenizer.to_str(), None, plain(cfg.data), cfg.data.max_length)
    tokenizer = plain(cfg.tokenizer)  # what fine-tuning checks its tokenizer= against (+tokenizer.foo: not a setting)
    extras["tokenizer_config"] = {k: tokenizer[k] for k in TOKENIZER_KEYS}
    extras["trained_texts"] = torch.tensor(dm.train_digests, dtype=torch.int64)  # (digests: fine-tuning's leak check)
    task = BiLanguageModelTask(
        model,
        optimizer=build_optimizer(cfg),
        scheduler=build_scheduler(cfg),
        char_level=cfg.tokenizer.kind == "char",
        checkpoint_extras=extras,
    )
    log_model_size(model, dm.tokenizer.get_vocab_size())
    return dm, task


class BiLanguageModelTask(TaskModule):
    """Wraps `BiGRULanguageModel`; the training loss is the mean of the two directions' per-token losses.

    Logs `{stage}/forward_loss`, `backward_loss`, `loss` (their mean) and `forward_ppl`, `backward_ppl`, `ppl`
    (exp of the mean loss: the geometric mean of the two perplexities); `bpc` for character models."""

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
        # summed losses and target counts per evaluation stage: every target weighs the same, synced across ranks
        self.sums = nn.ModuleDict({f"{s}_{d}": Float64Sum() for s in ("val", "test") for d in (*DIRECTIONS, "count")})

    def forward(
        self, input_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.model(input_ids, lengths)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        forward_nll, backward_nll, count = self(batch["input_ids"], batch["lengths"])
        n = count.clamp(min=1)
        each = {"train/forward_loss": forward_nll / n, "train/backward_loss": backward_nll / n}
        self.log_dict(each, on_step=True, on_epoch=False, sync_dist=True)  # the ranks' mean
        loss = self.global_mean(forward_nll + backward_nll, 2 * count)  # synced below: the global batch's mean
        self.log("train/loss", loss, on_step=True, on_epoch=False, prog_bar=True, sync_dist=True)
        return loss

    def _eval_step(self, batch: dict[str, torch.Tensor], stage: str) -> None:
        forward_nll, backward_nll, count = self(batch["input_ids"], batch["lengths"])
        self.sums[f"{stage}_forward"].update(forward_nll.double())
        self.sums[f"{stage}_backward"].update(backward_nll.double())
        self.sums[f"{stage}_count"].update(count.double())

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _log_eval(self, stage: str) -> None:
        count = self.sums[f"{stage}_count"].compute().clamp(min=1)
        losses = {d: (self.sums[f"{stage}_{d}"].compute() / count).float() for d in DIRECTIONS}
        mean = (losses["forward"] + losses["backward"]) / 2
        metrics = {f"{stage}/loss": mean, f"{stage}/ppl": torch.exp(mean.clamp(max=50))}
        for d, loss in losses.items():
            metrics[f"{stage}/{d}_loss"] = loss
            metrics[f"{stage}/{d}_ppl"] = torch.exp(loss.clamp(max=50))
        if self.char_level:
            metrics[f"{stage}/bpc"] = mean / math.log(2)
        self.log_dict(metrics, prog_bar=stage == "val")
        for metric in self.sums.values():
            metric.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_eval("val")

    def on_test_epoch_end(self) -> None:
        self._log_eval("test")

    def count_tokens(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return batch["lengths"].sum()

    def write_artifacts(self, datamodule: L.LightningDataModule, run: RunFolder) -> None:
        """The learning curves (mean, forward and backward loss, perplexity) against steps."""
        from textgru.plots import plot_learning_curves

        plot_learning_curves(
            run.metrics_csv, run.learning_curves, metrics=("loss", "forward_loss", "backward_loss", "ppl"), x="step"
        )
