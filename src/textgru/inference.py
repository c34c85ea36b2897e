"""Trained models rebuilt from their checkpoint alone (tokenizer, labels, model config): a classifier ready to
predict, a language model ready to sample."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from hydra.utils import instantiate
from tokenizers import Tokenizer

from textgru.checkpoint import load_checkpoint, model_state_dict
from textgru.data.batching import LengthBucketBatchSampler, pad_collate
from textgru.data.tokenization import pad_id
from textgru.generation import SamplingOptions, generate


def load_model(path: str | os.PathLike, task: str, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, Tokenizer, dict[str, Any]]:
    """The model (in eval mode, on `device`), tokenizer and metadata of a `task` checkpoint."""
    ckpt = load_checkpoint(path, expect_task=task)
    meta = ckpt["textgru"]
    model = instantiate(meta["model_config"])
    model.load_state_dict(model_state_dict(ckpt))
    model.to(device).eval()
    return model, Tokenizer.from_str(meta["tokenizer"]), meta


@dataclass
class LoadedClassifier:
    model: torch.nn.Module
    tokenizer: Tokenizer
    label_names: list[str]
    max_length: int
    meta: dict[str, Any]

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> "LoadedClassifier":
        model, tokenizer, meta = load_model(path, "sentiment", device)
        return cls(model, tokenizer, list(meta["label_names"]), int(meta["max_length"]), meta)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        unk = self.tokenizer.token_to_id("[UNK]")
        return [e.ids[: self.max_length] or [unk] for e in self.tokenizer.encode_batch(list(texts))]

    @torch.inference_mode()
    def predict_proba(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """Class probabilities (len(texts), classes), in input order; batches are length-bucketed."""
        ids = self.encode(texts)
        probs = torch.empty(len(ids), len(self.label_names))
        sampler = LengthBucketBatchSampler([len(x) for x in ids], batch_size, shuffle=False)
        for idx in sampler:
            batch = pad_collate([{"input_ids": ids[i]} for i in idx], pad_id=pad_id(self.tokenizer))
            logits = self.model(batch["input_ids"].to(self.device), batch["lengths"])  # (batch, classes)
            probs[idx] = torch.softmax(logits.float(), dim=-1).cpu()
        return probs

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> list[dict[str, Any]]:
        """One dict per text: `label`, `score` (its probability) and `probs` (label -> probability)."""
        probs = self.predict_proba(texts, batch_size)
        out = []
        for text, p in zip(texts, probs.tolist()):
            best = max(range(len(p)), key=p.__getitem__)
            out.append({"text": text, "label": self.label_names[best], "score": p[best],
                        "probs": dict(zip(self.label_names, p))})
        return out


@dataclass
class LoadedLanguageModel:
    model: torch.nn.Module
    tokenizer: Tokenizer
    meta: dict[str, Any]

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> "LoadedLanguageModel":
        return cls(*load_model(path, "lm", device))

    def generate(self, prompt: str, options: SamplingOptions, on_text: Callable[[str], None] | None = None,
                 allow_unknown: bool = False) -> list[str]:
        """`options.num_samples` continuations of `prompt`; see `textgru.generation.generate`."""
        return generate(self.model, self.tokenizer, prompt, options, on_text, allow_unknown)
