"""LightningDataModule for text classification: source → tokenizer (trained on train) → batched map → buckets."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import lightning as L
from datasets import Dataset as HFDataset
from datasets import DatasetDict
from tokenizers import Tokenizer
from torch.utils.data import DataLoader, Dataset

from textgru.config_keys import require_keys
from textgru.data.batching import bucketed_loader
from textgru.data.columns import column_values
from textgru.data.label_warnings import warn_few_rows_per_label
from textgru.data.labelled import load_classification_data
from textgru.data.long_texts import encode_cut
from textgru.data.split_files import warn_of_split_files
from textgru.data.subset import limit_training_examples
from textgru.data.token_counts import report_token_counts
from textgru.data.tokenization import pad_id, train_tokenizer

log = logging.getLogger(__name__)


def tokenize_dataset(ds: HFDataset, tokenizer: Tokenizer, max_length: int) -> HFDataset:
    """Add `input_ids` (truncated to `max_length`, at least one token), `length` and `uncut_length` (the text's
    tokens before the cut) with a batched map."""
    fingerprint_base = hashlib.sha1(f"{tokenizer.to_str()}|{max_length}|uncut|specials-as-text".encode()).hexdigest()
    unk = tokenizer.token_to_id("[UNK]")

    def encode(batch: dict) -> dict:
        cut, uncut = encode_cut(tokenizer, batch["text"], max_length)  # a long text in pieces (`long_texts`)
        ids = [x or [unk] for x in cut]
        return {"input_ids": ids, "length": [len(x) for x in ids], "uncut_length": uncut}

    fingerprint = None
    if ds._fingerprint:  # cached on disk where the dataset is file-backed: the second run skips the work
        fingerprint = hashlib.sha1(f"{ds._fingerprint}|{fingerprint_base}".encode()).hexdigest()[:16]
    return ds.map(encode, batched=True, batch_size=2000, new_fingerprint=fingerprint, desc="tokenizing")


class TokenizedExamples(Dataset):
    """`{"input_ids", "label"}` examples held in memory as Python lists."""

    def __init__(self, input_ids: list[list[int]], labels: list[int]) -> None:
        self.input_ids, self.labels = input_ids, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.input_ids[i], "label": self.labels[i]}


class ClassificationDataModule(L.LightningDataModule):
    """Train/validation/test dataloaders of padded, length-bucketed batches for a data config (its `batch_size`,
    `eval_batch_size`, `max_length` and `num_workers` too); `seed` orders the training batches.

    `pretrained_tokenizer`: use it instead of training one (fine-tuning from a language model). Few-label runs
    (`train_size` or `train_fraction`, from `data.*` at training time): the labelled training examples are cut to a
    stratified sample (seed `subset_seed`, null: `seed`) after the tokenizer has read every training text."""

    def __init__(
        self,
        data: Mapping[str, Any],
        tokenizer: Mapping[str, Any],
        seed: int,
        pretrained_tokenizer: Tokenizer | None = None,
        train_size: int | None = None,
        train_fraction: float | None = None,
        subset_seed: int | None = None,
    ) -> None:
        super().__init__()
        require_keys(data, ("batch_size", "eval_batch_size", "max_length", "num_workers"))
        self.data_cfg = dict(data)
        self.tokenizer_cfg = dict(tokenizer)
        self.batch_size, self.eval_batch_size = int(data["batch_size"]), int(data["eval_batch_size"])
        self.max_length, self.num_workers = int(data["max_length"]), int(data["num_workers"])
        self.seed = seed
        self.tokenizer: Tokenizer | None = pretrained_tokenizer
        self.train_size, self.train_fraction = train_size, train_fraction
        self.subset_seed = seed if subset_seed is None else subset_seed
        self.raw: DatasetDict | None = None
        self.splits: dict[str, HFDataset] = {}

    def prepare_data(self) -> None:
        pass  # loading is cheap and cached by `datasets`; every process does it in `setup`

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        if self.raw is None:
            warn_of_split_files(self.data_cfg)
            self.raw = load_classification_data(self.data_cfg)
            log.info(  # a review: a 2M-row file's minutes of reading passed without a line
                "data: %s training, %s validation and %s test examples",
                *(f"{len(self.raw[s]):,}" for s in ("train", "validation", "test")),
            )
        if self.tokenizer is None:
            self.tokenizer = train_tokenizer(column_values(self.raw["train"], "text"), self.tokenizer_cfg)
            log.info(
                "trained a %s tokenizer with %d tokens", self.tokenizer_cfg.get("kind"), self.tokenizer.get_vocab_size()
            )
        train = limit_training_examples(self.raw["train"], self.train_size, self.train_fraction, self.subset_seed)
        sampled = train is not self.raw["train"]
        if sampled:
            self.raw = DatasetDict({**self.raw, "train": train})
        warn_few_rows_per_label(len(self.label_names), len(train), "data", sampled)  # the rows trained on (not eval's)
        self.splits = {s: tokenize_dataset(ds, self.tokenizer, self.max_length) for s, ds in self.raw.items()}
        report_token_counts(
            self.raw["train"][:5000]["text"],  # a sample is enough to tell the script
            column_values(self.splits["train"], "uncut_length"),
            self.max_length,
            self.tokenizer_cfg.get("kind"),
        )
        # the ids as plain lists: indexing them per batch costs a fraction of Arrow row access
        columns = {s: ds.select_columns(["input_ids", "label", "length"]).to_dict() for s, ds in self.splits.items()}
        self.lengths = {s: c["length"] for s, c in columns.items()}
        self.examples = {s: TokenizedExamples(c["input_ids"], c["label"]) for s, c in columns.items()}

    @property
    def label_names(self) -> list[str]:
        return list(self.raw["train"].features["label"].names)

    @property
    def pad_id(self) -> int:
        return pad_id(self.tokenizer)

    def label_counts(self) -> list[int]:
        counts = [0] * len(self.label_names)
        for y in column_values(self.raw["train"], "label"):
            counts[y] += 1
        return counts

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return bucketed_loader(self, self.examples[split], self.lengths[split], split, shuffle)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
