"""What every loaded model shares: rebuilt from a checkpoint alone (weights-only loading, textgru's own model
classes only) or from an exported folder (run on onnxruntime), its device, and how it prints."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch

from textgru.checkpoint import load_checkpoint, rebuild_model
from textgru.distributed import check_device
from textgru.errors import TextgruError

Self = TypeVar("Self", bound="LoadedModel")


def checked_tokenizer(meta: dict[str, Any]) -> Any:
    """The checkpoint's (or export's) tokenizer; one line if it cannot be read or is not one textgru writes."""
    from textgru.data.tokenization import tokenizer_from_json

    where = meta.get("path") or "the model"
    try:
        return tokenizer_from_json(meta["tokenizer"])
    except ValueError as e:
        raise TextgruError(f"{where}: its tokenizer {e}; use the file textgru saved") from None


def read_tokenizer(model: Any, meta: dict[str, Any]) -> Any:
    """The checkpoint's (or export's) tokenizer (`checked_tokenizer`); one line too if it makes token ids the model's
    embedding was not sized for (a tokenizer from another run: wrong answers or an IndexError)."""
    where = meta.get("path") or "the model"
    tokenizer = checked_tokenizer(meta)
    embeddings = (m for m in model.modules() if isinstance(m, torch.nn.Embedding)) if hasattr(model, "modules") else ()
    rows = next((m.num_embeddings for m in embeddings), None)  # an ensemble's members' too (a review)
    top = max(tokenizer.get_vocab(with_added_tokens=True).values(), default=-1) + 1  # an edited id past the rows
    if isinstance(rows, int) and (tokenizer.get_vocab_size() != rows or top > rows):  # textgru sizes the embedding
        raise TextgruError(  # by it (a review: an id edited to 99999 was an IndexError mid-run)
            f"{where}: its tokenizer has {tokenizer.get_vocab_size()} tokens (ids up to {top - 1}) but its model's "
            f"embedding has {rows} rows (a tokenizer from another run, or edited?); use the file textgru saved"
        )
    return tokenizer


def model_device(model: Any) -> torch.device:
    """Where `model` takes its inputs: a module's parameters say; an onnxruntime runner runs on CPU."""
    if isinstance(model, torch.nn.Module):
        return next(model.parameters()).device
    return torch.device("cpu")


@dataclass(frozen=True)
class EvalOptions:
    """`textgru eval`'s options besides the data and split (`command_eval` takes them)."""

    batch_size: int
    precision: str
    output_dir: Path
    overwrite: bool


class LoadedModel:
    """A trained model and its checkpoint's metadata (`meta`: tokenizer, labels, configs, the file's `path`)."""

    task: ClassVar[str]  # the `task.name` of the checkpoints this class reads
    no_eval_hint: ClassVar[str] = ""  # what to use instead, where `textgru eval` refuses its checkpoints

    model: torch.nn.Module
    meta: dict[str, Any]

    @classmethod
    def load(cls: type[Self], path: str | os.PathLike[str], device: str | torch.device | None = "cpu") -> Self:
        """Rebuild from a checkpoint file or run folder (weights-only loading); on CPU unless `device` says (None:
        the CPU, as Hugging Face pipelines read it). An exported folder (`textgru export format=onnx`) runs on
        onnxruntime instead."""
        device = "cpu" if device is None else str(device)  # (a torch.device too; 0 is no device name: refused)
        from textgru.onnx_format import is_export

        if is_export(path):
            from textgru.inference.onnx_loading import open_export

            return cls.from_parts(*open_export(path, expect_task=cls.task, device=device))
        device = check_device(device)
        return cls.from_checkpoint(load_checkpoint(path, expect_task=cls.task), device)

    @classmethod
    def from_checkpoint(cls: type[Self], ckpt: dict[str, Any], device: str | torch.device = "cpu") -> Self:
        """Rebuild from a checkpoint already loaded by `textgru.checkpoint.load_checkpoint`."""
        model, meta = rebuild_model(ckpt, device)
        return cls.from_parts(model, meta)

    @classmethod
    def from_parts(cls: type[Self], model: Any, meta: dict[str, Any]) -> Self:
        """The object for a rebuilt model (or an onnxruntime runner) and its checkpoint's (or export's) metadata."""
        raise NotImplementedError

    def command_eval(self, data: dict[str, Any] | None, split: str, opts: EvalOptions) -> tuple[dict[str, Any], str]:
        """What `textgru eval` does with this model: its report on `split` of `data` (None: the model's own data),
        written to `output_dir`, and the table printed. A task's inference class defines it where the task has an
        eval; here, one line saying it has none and which tasks do."""
        hint = f" ({self.no_eval_hint})" if self.no_eval_hint else ""
        raise TextgruError(
            f"{self.meta.get('path')}: task={self.task} has no eval{hint}; textgru eval scores {with_eval()} "
            "checkpoints"
        )

    @property
    def device(self) -> torch.device:
        return model_device(self.model)

    def describe(self) -> str:
        """What `repr` shows besides the path and the device."""
        return ""

    def __repr__(self) -> str:
        what = self.describe()
        return (
            f"{type(self).__name__}({what + ', ' if what else ''}path={self.meta.get('path')!r}, device={self.device})"
        )


def with_eval() -> str:
    """The tasks whose inference classes (those imported) define `command_eval`, as messages name them."""
    from textgru.tasks import task_title

    found, todo = [], list(LoadedModel.__subclasses__())
    while todo:
        cls = todo.pop(0)
        todo += cls.__subclasses__()
        if cls.command_eval is not LoadedModel.command_eval and cls.task not in found:
            found.append(cls.task)
    return " and ".join(task_title(t) for t in found) or "no"
