"""LightningDataModule for language modelling: documents → one token stream per split → `batch_size`
contiguous lanes cut into `bptt`-token windows (truncated back-propagation through time)."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
from datasets import Dataset
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from textgru.config_keys import require_keys
from textgru.data.batching import evaluation_loader, rank_share, replicas_and_rank
from textgru.data.columns import column_values
from textgru.data.long_texts import encode_documents, pieces
from textgru.data.resumable_loader import ResumableDataLoader
from textgru.data.text_corpus import load_text_corpus
from textgru.data.tokenization import PAD, SPECIAL_TOKENS, UNK, train_tokenizer
from textgru.errors import TextgruError

log = logging.getLogger(__name__)
IGNORE_INDEX = -100  # targets past the end of the stream: scored by nobody
MIN_EVAL_LANE = 1024  # tokens: a validation/test lane shorter than this scores too much without context


class StreamWindows(TorchDataset):
    """Item i is window i of a stream laid out as `lanes` rows: `input_ids`, `targets` (lanes, ≤bptt) and
    `reset` (True for window 0, where every lane starts). Lane j holds the j-th contiguous slice of the
    stream; the targets are the inputs shifted by one, so every token after the first is a target once.
    Under data-parallel training each rank keeps its contiguous share of the lanes (`rank_share`), so all
    ranks together see every window of every lane once, in the same number of batches."""

    def __init__(
        self, stream: torch.Tensor, lanes: int, bptt: int, pad_id: int = 0, num_replicas: int = 1, rank: int = 0
    ) -> None:
        n = len(stream) - 1  # number of (input, target) pairs
        if n < 1:
            raise TextgruError("a stream needs at least two tokens")
        lanes = max(1, min(lanes, n))
        self.lane_length = math.ceil(n / lanes)
        total = lanes * self.lane_length
        inputs = torch.full((total,), pad_id, dtype=torch.long)
        targets = torch.full((total,), IGNORE_INDEX, dtype=torch.long)
        inputs[:n], targets[:n] = stream[:-1], stream[1:]
        if lanes < num_replicas:
            raise TextgruError(
                f"{lanes} lanes cannot be shared by {num_replicas} processes; "
                "data.batch_size and data.eval_batch_size must be at least the number of processes"
            )
        mine = rank_share(lanes, num_replicas, rank)
        self.inputs = inputs.view(lanes, self.lane_length)[mine]  # (lanes of this rank, lane_length)
        self.targets = targets.view(lanes, self.lane_length)[mine]
        self.bptt = bptt
        self.num_targets = n

    def __len__(self) -> int:
        return math.ceil(self.lane_length / self.bptt)

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        cut = slice(i * self.bptt, (i + 1) * self.bptt)
        return {"input_ids": self.inputs[:, cut], "targets": self.targets[:, cut], "reset": i == 0}


def with_newline(texts: Iterable[str]) -> list[str]:
    """Documents as they enter the stream: each ends in a newline, the separator between documents."""
    return [t if t.endswith("\n") else t + "\n" for t in texts]


def piece_by_piece(texts: Iterable[str]) -> Iterator[str]:
    """The documents as they enter the stream (`with_newline`), in `pieces`, to train a tokenizer on: the same
    pre-tokens, without a long document's all at once."""
    for text in with_newline(texts):
        yield from pieces(text)


def fewer_characters(tokenizer: Any, cfg: Mapping[str, Any]) -> str:
    """Why a char tokenizer left characters out, and what keeps them: `tokenizer.vocab_size` where it is full, else
    `tokenizer.min_frequency`."""
    if (size := tokenizer.get_vocab_size()) >= int(cfg["vocab_size"]):
        return (
            f"tokenizer.vocab_size={cfg['vocab_size']} keeps only the {size - len(SPECIAL_TOKENS)} commonest; raise it"
        )
    return f"tokenizer.min_frequency={cfg['min_frequency']} leaves out the rarer ones; lower it"


def refuse_unknown_separator(tokenizer: Any, cfg: Mapping[str, Any]) -> None:
    """A review: with tokenizer.vocab_size=8 the newline, the separator between documents, was [UNK] too, and the
    model could never write one: one line, before the text is read."""
    if cfg["kind"] == "char" and tokenizer.token_to_id("\n") is None:
        raise TextgruError(
            "the char tokenizer has no token for the newline, the separator between documents: "
            + fewer_characters(tokenizer, cfg)
        )


def said_unknown_characters(tokenizer: Any, cfg: Mapping[str, Any], train: torch.Tensor) -> None:
    """A review: 2,968 distinct characters gave "vocabulary 1000", unsaid: 11.7% of the training characters were
    [UNK], which the model never writes and bits per character score as one character. (Word: rare words as [UNK] is
    what vocab_size asks; BPE keeps every character.)"""
    unknown = int((train == tokenizer.token_to_id(UNK)).sum()) if cfg["kind"] == "char" else 0
    if unknown:
        log.warning(
            "%.1f%% of the training text's characters (%d of %d) are [UNK] to the char tokenizer: the model never "
            "writes them, and its loss and bits per character read them all as one character, so too low; %s",
            100 * unknown / len(train), unknown, len(train), fewer_characters(tokenizer, cfg),
        )  # fmt: skip


def encode_stream(ds: Dataset, tokenizer: Any) -> torch.Tensor:
    """Every document tokenized (batched `map`) and concatenated, each ending in a newline."""

    def encode(batch: dict[str, list[str]]) -> dict[str, list[np.ndarray]]:
        return {"ids": encode_documents(tokenizer, with_newline(batch["text"]))}

    salt = f"{ds._fingerprint}|{tokenizer.to_str()}|specials-as-text"  # a review: a cache from before the [PAD] rule
    fingerprint = hashlib.sha1(salt.encode()).hexdigest()[:16] if ds._fingerprint else None
    ids = ds.map(encode, batched=True, remove_columns=ds.column_names, new_fingerprint=fingerprint)
    ids = ids.with_format("numpy")["ids"]
    parts = [np.asarray(x, dtype=np.int64) for x in ids]
    return torch.from_numpy(np.concatenate(parts)) if parts else torch.empty(0, dtype=torch.long)


class LanguageModelDataModule(L.LightningDataModule):
    """Loads the corpus, trains the tokenizer on the training split only, and serves TBPTT windows."""

    def __init__(self, data_cfg: Mapping[str, Any], tokenizer_cfg: Mapping[str, Any], seed: int = 0) -> None:
        """`data_cfg` gives the corpus and `batch_size` (training lanes), `eval_batch_size`, `bptt`, `num_workers`;
        `seed` (the run's) seeds the training loader's workers."""
        super().__init__()
        self.seed = int(seed)
        require_keys(data_cfg, ("batch_size", "eval_batch_size", "bptt", "num_workers"))
        self.data_cfg, self.tokenizer_cfg = dict(data_cfg), dict(tokenizer_cfg)
        self.batch_size, self.eval_batch_size = int(data_cfg["batch_size"]), int(data_cfg["eval_batch_size"])
        self.bptt, self.num_workers = int(data_cfg["bptt"]), int(data_cfg["num_workers"])
        self.tokenizer = None
        self.corpus = None
        self.streams: dict[str, torch.Tensor] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.streams:
            return
        if self.bptt < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise TextgruError("data.bptt, data.batch_size and data.eval_batch_size must be at least 1")
        self.corpus = corpus = load_text_corpus(self.data_cfg)
        # trained on the texts as they enter the stream, so the separator is a token too
        self.tokenizer = train_tokenizer(piece_by_piece(column_values(corpus["train"], "text")), self.tokenizer_cfg)
        refuse_unknown_separator(self.tokenizer, self.tokenizer_cfg)
        self.streams = {split: encode_stream(ds, self.tokenizer) for split, ds in corpus.items()}
        sizes = {s: len(v) for s, v in self.streams.items()}
        log.info("token streams: %s; vocabulary %d", sizes, self.tokenizer.get_vocab_size())
        said_unknown_characters(self.tokenizer, self.tokenizer_cfg, self.streams["train"])
        if (lanes := self.eval_lanes("validation")) < self.eval_batch_size:
            log.info(
                "validation read in %d lanes (of at least %d tokens), not data.eval_batch_size", lanes, MIN_EVAL_LANE
            )
        if sizes["train"] < self.bptt + 1:
            raise TextgruError(
                f"the training text has {sizes['train']} tokens, shorter than one window "
                f"(data.bptt={self.bptt} + 1); give a longer corpus or a smaller data.bptt"
            )
        for split in ("validation", "test"):
            if sizes[split] < 2:
                raise TextgruError(f"the {split} split has {sizes[split]} token(s); it needs at least 2")
        if sizes["train"] // self.batch_size < self.bptt:
            log.warning(
                "each of the %d lanes holds only %d tokens, less than data.bptt=%d; consider a smaller data.batch_size",
                self.batch_size,
                sizes["train"] // self.batch_size,
                self.bptt,
            )

    def first_line(self, split: str, most: int = 200) -> str:
        """The first non-blank line of a split, with its newline (a natural prompt for samples); of a longer line, its
        first `most` characters, up to the last whitespace in them (a one-line corpus prompted with all of itself)."""
        for text in self.corpus[split]["text"]:
            for line in text.splitlines():
                if line.strip():
                    return line + "\n" if len(line) <= most else line[: line.rfind(" ", 0, most) + 1 or most]
        return ""

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.token_to_id(PAD))

    def windows(self, split: str) -> StreamWindows:
        replicas, rank = replicas_and_rank(self)
        lanes = self.batch_size if split == "train" else self.eval_lanes(split, replicas)
        return StreamWindows(self.streams[split], lanes, self.bptt, self.pad_id, num_replicas=replicas, rank=rank)

    def eval_lanes(self, split: str, replicas: int = 1) -> int:
        """Lanes for scoring a split: up to `data.eval_batch_size`, each of at least `MIN_EVAL_LANE` tokens (each lane
        starts from a zero state, so its first tokens are scored without context: a review measured a 2,000-token
        test split +9% in loss at 64 lanes of 31 tokens against one lane), and at least one per process."""
        return min(self.eval_batch_size, max(replicas, len(self.streams[split]) // MIN_EVAL_LANE))

    def _loader(self, split: str) -> DataLoader:
        # batch_size=None: each item already is a (lanes, bptt) batch; order matters (the state is carried)
        windows = self.windows(split)
        if split == "train":  # training resumes mid-epoch where it stopped
            return ResumableDataLoader(
                windows, batch_size=None, shuffle=False, num_workers=self.num_workers, seed=self.seed
            )
        return evaluation_loader(windows, batch_size=None, shuffle=False, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
