"""LightningDataModule for the bidirectional language model (`task=bilm`): texts as their own sequences.

The texts come from a text corpus (`data=local_text`, `shakespeare`, a Hub corpus) or from a labelled data config
with its labels ignored (`data=tweets`, `data=local`, ...: only the texts are read). The tokenizer is trained on the
training split only. Each text is one sequence (texts longer than `max_length` tokens are cut into consecutive
pieces of `max_length`), served in right-padded, length-bucketed batches with `lengths`: what the classifier
reads, so the pretrained states are those the classifier will start from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import lightning as L
from datasets import DatasetDict
from tokenizers import Tokenizer
from torch.utils.data import DataLoader, Dataset

from textgru.config_keys import require_keys
from textgru.data.batching import bucketed_loader
from textgru.data.columns import column_values
from textgru.data.long_texts import encode_documents
from textgru.data.repeated_texts import corpus_digests
from textgru.data.tokenization import pad_id, train_tokenizer
from textgru.errors import TextgruError

log = logging.getLogger(__name__)
SPLITS = ("train", "validation", "test")


def is_labelled(data_cfg: Mapping[str, Any]) -> bool:
    """Whether a data config names labelled data (tweets, local labelled files, a Hub dataset with labels)."""
    source = data_cfg["source"]
    return source in ("tweets", "local") or (source == "hub" and "label_column" in data_cfg)


def load_texts(data_cfg: Mapping[str, Any]) -> DatasetDict:
    """`train`/`validation`/`test` splits with a `text` column, from a text corpus or a labelled data config
    (its labels dropped; the few-label keys `train_size`/`train_fraction` do not apply: every text is read)."""
    if is_labelled(data_cfg):
        from textgru.data.labelled import load_classification_data

        try:
            raw = load_classification_data(data_cfg)
        except TextgruError as e:  # a review: the advice was data.label_column=, refused for any value that helps
            label = data_cfg.get("label_column")
            if data_cfg["source"] != "local" or f"column {label!r} not found" not in str(e):
                raise
            raise TextgruError(
                f"{str(e).split('. Set data.')[0]}; texts without labels are a text corpus: data=local_text "
                f"data.path={data_cfg['path']} (data.text_column= names the texts' column)"
            ) from None
        return DatasetDict({s: raw[s].select_columns(["text"]) for s in SPLITS})
    from textgru.data.text_corpus import load_text_corpus

    return load_text_corpus(data_cfg)


def cut(ids: list[int], max_length: int) -> list[list[int]]:
    """A text's ids as consecutive pieces of at most `max_length` tokens."""
    return [ids[i : i + max_length] for i in range(0, len(ids), max_length)]


class Sequences(Dataset):
    """`{"input_ids"}` examples held in memory as Python lists."""

    def __init__(self, input_ids: list[list[int]]) -> None:
        self.input_ids = input_ids

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.input_ids[i]}


class BiLMDataModule(L.LightningDataModule):
    """Train/validation/test loaders of padded, length-bucketed batches of texts (`input_ids`, `lengths`)."""

    def __init__(self, data: Mapping[str, Any], tokenizer: Mapping[str, Any], seed: int) -> None:
        super().__init__()
        require_keys(data, ("source", "batch_size", "eval_batch_size", "max_length", "num_workers"))
        self.data_cfg, self.tokenizer_cfg = dict(data), dict(tokenizer)
        self.batch_size, self.eval_batch_size = int(data["batch_size"]), int(data["eval_batch_size"])
        self.max_length, self.num_workers = int(data["max_length"]), int(data["num_workers"])
        self.seed = seed
        self.tokenizer: Tokenizer | None = None
        self.sequences: dict[str, list[list[int]]] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.sequences:
            return
        if self.max_length < 2:
            raise TextgruError(f"data.max_length={self.max_length}: task=bilm needs at least 2 (a token to predict)")
        texts = load_texts(self.data_cfg)
        self.tokenizer = train_tokenizer(column_values(texts["train"], "text"), self.tokenizer_cfg)  # training only
        self.train_digests = corpus_digests(column_values(texts["train"], "text"))  # kept in the checkpoint
        for split in SPLITS:
            encoded = encode_documents(self.tokenizer, column_values(texts[split], "text"), exact=True)
            # a piece of one token has nothing to predict in either direction
            self.sequences[split] = [p for e in encoded for p in cut(e.tolist(), self.max_length) if len(p) >= 2]
        sizes = {s: (len(v), sum(map(len, v))) for s, v in self.sequences.items()}
        log.info("biLM sequences (texts, tokens): %s; vocabulary %d", sizes, self.tokenizer.get_vocab_size())
        for split in SPLITS:
            if not self.sequences[split]:
                raise TextgruError(f"the {split} split has no text of two tokens or more; a language model needs some")

    @property
    def pad_id(self) -> int:
        return pad_id(self.tokenizer)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        sequences = self.sequences[split]
        return bucketed_loader(self, Sequences(sequences), [len(s) for s in sequences], split, shuffle)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
