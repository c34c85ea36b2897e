"""The check that every data-parallel rank trains the same thing: each rank's configuration and the data it read
(split sizes, the data files' digest, its tokenizer), gathered into `ranks.json` before training."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from textgru.errors import EveryRankError
from textgru.run_folder import RunFolder

log = logging.getLogger(__name__)
SPLIT_HOLDERS = ("examples", "sequences", "corpus", "datasets")  # a datamodule's splits: texts, sequences, windows


def training_setup(trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
    """What this rank actually trains: the model's config, the optimizer's settings, seed and batch sizes, and the
    data it read (`data_read`)."""
    optimizer = trainer.optimizers[0]
    settings = {k: v for k, v in optimizer.defaults.items() if isinstance(v, (int, float, str, bool, tuple))}
    extras = getattr(pl_module, "checkpoint_extras", {})
    return {
        "seed": torch.initial_seed(),
        "model": extras.get("model_args"),
        "optimizer": {"name": type(optimizer).__name__, **settings},
        "data": {
            k: v for k, v in (extras.get("data_config") or {}).items() if "batch" in k or k in ("bptt", "max_length")
        },
        "data_read": data_read(trainer.datamodule, extras),
    }


def data_read(datamodule: Any, extras: dict[str, Any]) -> dict[str, Any]:
    """The data a rank read, cheaply: its split sizes, the digest of the data files already taken for the checkpoint,
    and a hash of its tokenizer's JSON. A review: each rank reads and splits the data itself, and a file that grew
    while the ranks started (the `ddp` launcher re-runs the command in rank 1 seconds later; each node of a torchrun
    or SLURM job reads its own copy) trained 720 texts in one rank and 880 in the other, unrefused, or hung the run."""
    splits = next((s for name in SPLIT_HOLDERS if (s := getattr(datamodule, name, None))), None) or {}
    tokenizer = extras.get("tokenizer")
    return {
        "split_sizes": {split: len(rows) for split, rows in splits.items()},
        "data_digest": extras.get("data_digest"),
        "tokenizer": hashlib.sha256(tokenizer.encode()).hexdigest()[:16] if tokenizer else None,
    }


def differing_ranks(setups: list[Any]) -> str | None:
    """The one line saying which rank differs from rank 0 and how (the data it read first: other data also trains
    another tokenizer and model size), or None where all ranks agree."""
    differing = [r for r, s in enumerate(setups) if s != setups[0]]
    if not differing:
        return None
    first = setups[0].get("data_read") or {}
    if rank := next((r for r in differing if (setups[r].get("data_read") or {}) != first), 0):
        other = setups[rank].get("data_read") or {}
        key = next((k for k in ("split_sizes", "data_digest", "tokenizer") if other.get(k) != first.get(k)), "")
        return (
            f"rank {rank} read other data than rank 0 ({key.replace('_', ' ')} {_shown(other.get(key))} vs "
            f"{_shown(first.get(key))}): the data changed while the ranks started, or each node has another copy; "
            "keep it unchanged until training starts and give every node the same files (see ranks.json)"
        )
    return (
        f"ranks {differing} would train a different config from rank 0 (see ranks.json); "
        "in sweeps use strategy=ddp_spawn or launch each run with torchrun"
    )


def _shown(value: Any) -> str:
    return "/".join(map(str, value.values())) if isinstance(value, dict) else str(value)  # split sizes: 720/90/90


class SameConfigOnAllRanks(Callback):
    """Under data-parallel training, gathers every rank's training setup when fitting starts, writes them to
    `ranks.json` in the run folder (rank zero) and stops with one clear line if two ranks differ: the failure
    mode of a sweep re-executed in every rank, which would otherwise train different configs silently. The data each
    rank read is compared first, at setup: before DDP compares the ranks' weights, whose shapes another tokenizer
    changes (its error a traceback of rank 1's, and rank 0's "another process ended")."""

    def __init__(self, run: RunFolder) -> None:
        self.run = run

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and trainer.world_size > 1 and torch.distributed.is_initialized():
            extras = getattr(pl_module, "checkpoint_extras", {})
            self._compare(trainer, {"data_read": data_read(trainer.datamodule, extras)})

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.world_size == 1 or not torch.distributed.is_initialized():
            return
        self._compare(trainer, training_setup(trainer, pl_module))
        log.info("all %d ranks train the same config", trainer.world_size)

    def _compare(self, trainer: L.Trainer, setup: dict[str, Any]) -> None:
        mine = json.loads(json.dumps(setup, default=str))
        setups: list[Any] = [None] * trainer.world_size
        torch.distributed.all_gather_object(setups, mine)
        if trainer.is_global_zero:
            self.run.path.mkdir(parents=True, exist_ok=True)
            self.run.ranks.write_text(json.dumps({"world_size": trainer.world_size, "setups": setups}, indent=2))
        if (problem := differing_ranks(setups)) is not None:
            raise EveryRankError(problem)  # every rank gathered the same setups: rank zero says it
