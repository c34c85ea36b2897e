"""A classifier started from a pretrained bidirectional language model (`model.pretrained_lm=`): its checkpoint read
through textgru's safe loader (`weights_only=True`, the model rebuilt from `MODEL_CLASSES` by name, its arguments
checked against the class's signature); `model.transfer=finetune`: its sizes checked against the classifier's, and
its embedding and both GRU directions copied into a `GRUClassifier` one-to-one (same parameter names) to be
fine-tuned; `features`: the same weights loaded, frozen, into the classifier's `lm` (`textgru.models.lm_features`)."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from textgru.checkpoint import load_checkpoint, rebuild_model
from textgru.data import tokenization
from textgru.data.columns import column_values
from textgru.data.pretraining_split import check_pretraining_split
from textgru.data.repeated_texts import text_digests
from textgru.errors import TextgruError
from textgru.inference.loaded_model import read_tokenizer
from textgru.override_values import tokenizer_overrides

log = logging.getLogger(__name__)
TRANSFERRED = ("embedding.", "rnn.forward_layers.", "rnn.backward_layers.")
SIZES = ("embedding_dim", "hidden_size", "num_layers")
KINDS = tuple(tokenization.PRE_TOKENIZER_KINDS.values())  # the tokenizer kinds textgru makes


class PretrainedLM:
    """A `task=bilm` checkpoint (run folder or .ckpt): weights (`state`), model arguments, tokenizer, path (`record`)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not Path(str(path)).expanduser().exists():
            raise TextgruError(
                f"model.pretrained_lm={path} does not exist; pretrain a language model first (textgru train "
                "task=bilm ..., or experiment=tweets_bilm hydra.run.dir=outputs/bilm/tweets) and pass its run folder"
            )
        try:
            ckpt = load_checkpoint(path, expect_task="bilm", verb="used for model.pretrained_lm")
            model, meta = rebuild_model(ckpt)
            tokenizer = read_tokenizer(model, meta)  # readable, and none of a file's own regular expressions
        except TextgruError as e:
            raise TextgruError(f"model.pretrained_lm: {e}") from e
        self.path: str = meta["path"]
        self.model_args: dict[str, Any] = meta["model_args"]
        self.data_config: dict[str, Any] = meta.get("data_config") or {}
        self.run_folder: Path | None = None  # a resumed run's folder (`saved_by_run`)
        texts = meta.get("trained_texts")  # digests of its training texts (`report_on`)
        self.trained_texts = texts if isinstance(texts, torch.Tensor) and texts.dtype == torch.int64 else None
        self.tokenizer = tokenizer
        self.tokenizer_config = recorded_tokenizer_config(meta)
        self.state: dict[str, torch.Tensor] = model.state_dict()  # its weight average where the run kept one
        with open(self.path, "rb") as f:  # which LM, should the path later hold another (`record`)
            self.record = {"path": self.path, "sha256": hashlib.file_digest(f, "sha256").hexdigest()}  # in the ckpt
        log.info("the language model: %s (sha256 %s)", self.path, self.record["sha256"])

    @classmethod
    def saved_by_run(cls, path: str | os.PathLike[str], tokenizer_file: Path) -> PretrainedLM:
        """The LM as a resumed fine-tuning run knows it: its tokenizer from the run folder; no weights (the run's)."""
        lm = cls.__new__(cls)
        lm.path, lm.model_args, lm.state, lm.trained_texts, lm.record = str(path), {}, {}, None, None
        lm.tokenizer = tokenization.read_tokenizer_file(tokenizer_file)
        lm.run_folder = tokenizer_file.parent
        return lm

    def feature_sizes(self) -> list[int]:
        """[embedding_dim, hidden_size, num_layers] of the LM, as `GRUClassifier(lm_features=...)` takes them (a
        resumed run: as its checkpoint records them)."""
        folder = self.run_folder
        ckpts = (
            [folder / "checkpoints" / f for f in ("last.ckpt", "best-unfinished.ckpt", "best.ckpt")] if folder else []
        )
        recorded = next((c for c in ckpts if c.is_file()), None) if not self.model_args else None
        if recorded is not None:
            args = rebuild_model(load_checkpoint(recorded, expect_task="sentiment", verb=None))[1]["model_args"]
            self.model_args = dict(zip(SIZES, args.get("lm_features") or [], strict=False))
        elif not self.model_args and Path(self.path).exists():
            # no checkpoint yet: a data-parallel rank of a new run (rank zero wrote the tokenizer; a review: every
            # trainer=ddp_cpu run of features failed here), which DDP then gives rank zero's weights
            self.model_args = PretrainedLM(self.path).model_args
        if not all(k in self.model_args for k in SIZES):
            raise TextgruError(
                f"model.transfer=features: the language model's sizes are unknown ({self.path}: a resumed run whose "
                "checkpoint reads the LM otherwise?); resume with the model.transfer= the run was trained with"
            )
        return [int(self.model_args[k]) for k in SIZES]

    def check_sizes(self, classifier_config: Mapping[str, Any]) -> None:
        """One line naming every size the classifier config must change to match the language model."""
        if not classifier_config["bidirectional"]:
            raise TextgruError("model.pretrained_lm needs model.bidirectional=true (the language model has both)")
        wrong = [k for k in SIZES if classifier_config[k] != self.model_args[k]]
        if wrong:
            have = ", ".join(f"{k}={classifier_config[k]}" for k in wrong)
            fix = " ".join(f"model.{k}={self.model_args[k]}" for k in wrong)
            raise TextgruError(
                f"the classifier's sizes ({have}) differ from the language model in {self.path}; set {fix}"
            )

    def check_tokenizer(self, tokenizer_config: Mapping[str, Any]) -> None:
        """One line naming every `tokenizer=` override the run needs to describe the language model's tokenizer,
        which the classifier takes instead: the run's config.yaml must say what it uses (a review: vocab_size=60 was
        recorded for a run of the LM's 100 tokens). The settings the LM's checkpoint records (min_frequency too,
        which the vocabulary alone does not tell); from a checkpoint made before that record, what the tokenizer
        shows: its kind, normalisation and a vocab_size not below its size."""
        want = dict(self.tokenizer_config)
        if not want:
            want = {
                "kind": tokenization.tokenizer_kind(self.tokenizer),
                **(tokenization.normalizer_settings(self.tokenizer) or {}),
            }
            want = {k: v for k, v in want.items() if k != "kind" or v is not None}  # None: a kind textgru cannot tell
        wrong = {k: v for k, v in want.items() if tokenizer_config.get(k) != v}
        size, asked = self.tokenizer.get_vocab_size(), tokenizer_config.get("vocab_size")
        if "vocab_size" not in want and isinstance(asked, int) and asked < size:  # a maximum: more is no conflict
            wrong["vocab_size"] = size
        if not wrong:
            return
        now = tokenizer_overrides({k: tokenizer_config.get(k) for k in wrong})
        # another kind is another config group: its defaults come back, so every setting is named
        fix = tokenizer_overrides({**want, **wrong} if "kind" in wrong else wrong)
        kind = f"{want['kind']} " if "kind" in want else ""
        raise TextgruError(
            f"model.pretrained_lm: the classifier takes the language model's {kind}tokenizer ({size} tokens), which "
            f"tokenizer= describes otherwise ({now}); pass {fix}"
        )

    def check_split(self, data_config: Mapping[str, Any]) -> None:
        """One line where the language model's training texts can hold this run's validation or test texts."""
        check_pretraining_split(self.data_config, data_config, checked=self.trained_texts is not None)

    def report_on(self, dm: Any) -> None:
        """`report_coverage` of a classifier's datamodule, then one line where the language model trained on a tenth
        or more of its validation or test texts (a warning from 1%): an LM pretrained on a copy of the labelled texts
        (a CSV of its text column: a review) would give the test scores of texts it read."""
        self.report_coverage(dm.examples["train"].input_ids)
        if self.trained_texts is None:  # a resumed run's (its checkpoint holds the weights), or an older biLM's
            return
        for split in ("validation", "test"):
            digests = torch.tensor(text_digests(column_values(dm.raw[split], "text")), dtype=torch.int64)  # each once
            read = int(torch.isin(digests, self.trained_texts).sum())
            share = read / max(1, len(digests))
            said = f"model.pretrained_lm was trained on {read} of this run's {split} texts ({share:.0%})"
            fix = "pretrain it on this run's training texts only: textgru train task=bilm data=<this run's data>"
            if share >= 0.1:
                raise TextgruError(f"{said}, so its {split} scores would be of texts it read; {fix}")
            if share >= 0.01:
                log.warning("%s: its %s scores are of texts it partly read; %s", said, split, fix)

    def report_coverage(self, train_ids: list[list[int]]) -> float:
        """The share of the training texts' tokens the language model's tokenizer knows (not [UNK]), logged; a
        warning below 80%: an LM pretrained on other text (or a tiny vocabulary) turns most words into [UNK]."""
        unk = self.tokenizer.token_to_id("[UNK]")
        total = sum(len(ids) for ids in train_ids)
        known = 1.0 - sum(ids.count(unk) for ids in train_ids) / max(total, 1) if unk is not None else 1.0
        say = log.warning if known < 0.8 else log.info
        say(
            "the language model's tokenizer knows %.1f%% of the training tokens%s",
            100 * known,
            "; the rest read as [UNK]: pretrain it on text like this data (textgru train task=bilm data=...)"
            if known < 0.8
            else "",
        )
        return known


def recorded_tokenizer_config(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The `tokenizer=` settings a biLM checkpoint records ({} in those made before 2026-12-04); one line for an
    edited record that is no mapping of the settings to plain values."""
    record = meta.get("tokenizer_config")
    if record is None:
        return {}
    if not (
        isinstance(record, dict)
        and set(record) <= set(tokenization.TOKENIZER_KEYS)
        and all(isinstance(v, (bool, int, str, type(None))) for v in record.values())
        and record.get("kind", "word") in KINDS  # a review: shell text was shown in the advice line
        and all(type(record.get(k, 1)) is int for k in ("vocab_size", "min_frequency"))  # another: ${oc.env:X}
        and not any(isinstance(v, str) and "$" in v for v in record.values())
    ):
        raise TextgruError(
            f"model.pretrained_lm: checkpoint {meta['path']!r} holds a tokenizer_config that is not its tokenizer= "
            "settings (an edited file?); use the checkpoint its task=bilm run wrote"
        )
    return dict(record)


def pretrained_start(
    model_config: Mapping[str, Any],
    tokenizer_config: Mapping[str, Any],
    data_config: Mapping[str, Any],
    run_tokenizer: Path,
) -> PretrainedLM | None:
    """The language model a classifier run starts from (`model.pretrained_lm`; its sizes, tokenizer and the split of
    its data checked), or None. A resumed run (its folder holds `run_tokenizer`, the LM's tokenizer as the run saved
    it) reads only that: its checkpoint holds every weight, so the LM's files may have moved or gone since."""
    path = model_config.get("pretrained_lm")
    if not path and model_config.get("transfer") == "features":
        raise TextgruError(
            "model.transfer=features reads a pretrained language model; give model.pretrained_lm=<a task=bilm run "
            "folder> (pretrain one: textgru train task=bilm ...), or drop model.transfer"
        )
    if not path:
        return None
    if run_tokenizer.is_file():
        return PretrainedLM.saved_by_run(path, run_tokenizer)
    lm = PretrainedLM(path)
    if model_config.get("transfer") != "features":  # features: the classifier's own sizes are its own
        lm.check_sizes(model_config)
    lm.check_tokenizer(tokenizer_config)
    lm.check_split(data_config)
    return lm


@torch.no_grad()
def load_features(classifier: nn.Module, lm_state: Mapping[str, torch.Tensor]) -> list[str]:
    """Load the language model's embedding and GRU weights into the classifier's frozen `lm`; the names loaded."""
    state = {k: v for k, v in lm_state.items() if k.startswith(TRANSFERRED)}
    classifier.lm.load_state_dict(state)  # strict: the sizes come from this LM
    count = sum(v.numel() for v in state.values())
    log.info("features from a frozen pretrained biLM: %d tensors (%s parameters)", len(state), f"{count:,}")
    return list(state)


@torch.no_grad()
def transfer_weights(classifier: nn.Module, lm_state: Mapping[str, torch.Tensor]) -> list[str]:
    """Copy the language model's embedding and GRU weights (both directions, every layer) into the classifier's
    parameters of the same names (each member's, `model.members`); returns the names copied. Pooling and head keep
    their fresh initialisation."""
    copied, owns = [], [m.state_dict(keep_vars=True) for m in getattr(classifier, "members", [classifier])]
    for name, value in lm_state.items():
        if not name.startswith(TRANSFERRED):
            continue
        for own in owns:
            if name not in own or own[name].shape != value.shape:
                found = tuple(own[name].shape) if name in own else "missing"
                raise TextgruError(
                    f"the language model's {name} {tuple(value.shape)} has no counterpart of that shape in the "
                    f"classifier ({found})"
                )
            own[name].copy_(value)
        copied.append(name)
    count = sum(lm_state[n].numel() for n in copied)
    log.info("fine-tuning from a pretrained biLM: copied %d tensors (%s parameters)", len(copied), f"{count:,}")
    return copied
