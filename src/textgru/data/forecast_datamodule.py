"""LightningDataModule for forecasting: a chronological train/validation/test split of one series, normalised with
training statistics, cut into (window inputs, horizon targets) pairs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from textgru.config_keys import require_keys
from textgru.data.batching import RankShares, evaluation_loader, replicas_and_rank
from textgru.data.resumable_loader import ResumableDataLoader
from textgru.data.series import Series, load_series
from textgru.data.series_spans import split_bounds
from textgru.errors import TextgruError

log = logging.getLogger(__name__)
ROUNDING = 1e-12  # a column's std below this share of its largest magnitude is float rounding, not variation


class WindowDataset(Dataset):
    """Item i: `inputs` = series[s : s+window] and `targets` = series[s+window : s+window+horizon], s = starts[i]."""

    def __init__(self, series: torch.Tensor, starts: list[int], window: int, horizon: int) -> None:
        self.series, self.starts, self.window, self.horizon = series, starts, window, horizon

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        s = self.starts[i]
        return {
            "inputs": self.series[s : s + self.window],  # (window, features)
            "targets": self.series[s + self.window : s + self.window + self.horizon],
        }  # (horizon, features)

    def stacked(self, picks: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Items `picks` (default: every one) at once, gathered in one indexing (item by item, 1M rows took 31 s):
        inputs (n, window, features), targets (n, horizon, features)."""
        starts = torch.as_tensor(self.starts if picks is None else [self.starts[i] for i in picks], dtype=torch.long)

        def rows(offset: int, size: int) -> torch.Tensor:
            return self.series[starts[:, None] + offset + torch.arange(size)]  # (n, size, features)

        return rows(0, self.window), rows(self.window, self.horizon)


def spread(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's std over the training rows (time, features), 1 where it is constant, and which are: a spread
    within `ROUNDING` of the column's largest magnitude is float rounding (a review of the forecaster: 0.1 + 0.2 beside
    0.3, std 3e-17, scaled the column by 3e16 unwarned), not a series; a series of tiny values that vary is one."""
    std = train.std(axis=0)  # (features,)
    flat = ~(std > ROUNDING * np.abs(train).max(axis=0))  # exactly constant (std 0) too
    return np.where(flat, 1.0, std), flat


class ForecastDataModule(L.LightningDataModule):
    """Windows whose targets lie in the training span train; validation and test windows have their targets in
    their own span (their inputs may reach back into the span before). Mean and std per column come from the
    training span only; the series is normalised with them (`denormalise` undoes it)."""

    def __init__(self, data_config: dict[str, Any], seed: int = 0) -> None:
        """`data_config` gives the series and `window`, `horizon`, the split fractions and the loader sizes; `seed`
        with the epoch decides the order of the training windows."""
        super().__init__()
        keys = ("window", "horizon", "batch_size", "eval_batch_size", "num_workers", "val_fraction", "test_fraction")
        require_keys(data_config, keys)
        self.data_config, self.seed = data_config, int(seed)
        self.window, self.horizon = int(data_config["window"]), int(data_config["horizon"])
        self.batch_size, self.eval_batch_size = int(data_config["batch_size"]), int(data_config["eval_batch_size"])
        self.num_workers = int(data_config["num_workers"])
        self.val_fraction, self.test_fraction = float(data_config["val_fraction"]), float(data_config["test_fraction"])
        self.tokenizer = None  # a forecast run has no tokenizer
        self.series: Series | None = None
        self.datasets: dict[str, WindowDataset] = {}

    def _fixes(self, n: int, least: int, val_start: int, test_start: int) -> str:
        """What would give every span of an `n`-row series its rows (a review: "lower data.window or data.horizon"
        where both were 1, or where a test_fraction of 0.0001 gave the test span no row)."""
        fixes = ["lower data.window or data.horizon"] if self.window + self.horizon > 2 else []
        share = np.ceil(100 * self.horizon / n) / 100  # the least fraction that gives a span horizon rows
        spans = (("val_fraction", test_start - val_start), ("test_fraction", n - test_start))
        short = [key for key, rows in spans if rows < self.horizon]
        raised = {"val_fraction": self.val_fraction, "test_fraction": self.test_fraction, **dict.fromkeys(short, share)}
        if short and split_bounds(n, **raised)[0] >= self.window + self.horizon:  # training keeps its rows too
            # one fix, "and" where both spans are short (a review: "raise val_fraction ..., or raise test_fraction
            # ..." where either alone was refused again)
            fixes.append("raise " + " and ".join(f"data.{key} to at least {share:g}" for key in short))
        if least <= 10 * n or not fixes:
            fixes.append(f"give a longer series (about {least} rows)")
        return ", or ".join(fixes)

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        if self.window < 1 or self.horizon < 1:
            raise TextgruError(f"data.window={self.window} and data.horizon={self.horizon} must both be at least 1")
        self.series = load_series(self.data_config)
        n = len(self.series.values)
        val_start, test_start = split_bounds(n, self.val_fraction, self.test_fraction)
        need_train = self.window + self.horizon
        if val_start < need_train or test_start - val_start < self.horizon or n - test_start < self.horizon:
            spans = {  # rows each span needs, and the share of the series it gets
                "training": (need_train, 1 - self.val_fraction - self.test_fraction),
                "validation": (self.horizon, self.val_fraction),
                "test": (self.horizon, self.test_fraction),
            }
            least = max(int(np.ceil(rows / max(share, 1e-9))) for rows, share in spans.values())
            raise TextgruError(
                f"the series has {n} rows: too few for data.window={self.window} + data.horizon={self.horizon} "
                f"with {self.val_fraction:.0%} validation and {self.test_fraction:.0%} test (training needs window + "
                f"horizon rows, validation and test horizon rows each: about {least} rows in all); "
                + self._fixes(n, least, val_start, test_start)
            )
        train = self.series.values[:val_start]
        self.mean = train.mean(axis=0)  # (features,)
        self.std, flat = spread(train)  # (features,)
        constant = [str(c) for c, f in zip(self.series.columns, flat, strict=True) if f]
        if constant:
            log.warning("column(s) %s are constant over the training span: nothing to learn from them", constant)
        normed = torch.tensor((self.series.values - self.mean) / self.std, dtype=torch.float32)  # (time, features)
        w, h = self.window, self.horizon
        spans = {"train": (0, val_start), "validation": (val_start, test_start), "test": (test_start, n)}
        for split, (lo, hi) in spans.items():  # targets start in [lo, hi) and end by hi
            first = 0 if split == "train" else lo - w
            starts = list(range(first, hi - w - h + 1))
            self.datasets[split] = WindowDataset(normed, starts, w, h)
        self.spans = spans
        log.info(
            "windows of %d steps -> %d: train %d, validation %d, test %d (rows %d / %d / %d)",
            w,
            h,
            *(len(self.datasets[s]) for s in spans),
            val_start,
            test_start - val_start,
            n - test_start,
        )

    @property
    def num_features(self) -> int:
        return self.series.values.shape[1]

    def normalisation(self) -> dict[str, Any]:
        """What a checkpoint needs to read and write the series' units: columns, mean and std (plain lists)."""
        return {
            "columns": list(self.series.columns),
            "mean": [float(m) for m in self.mean],
            "std": [float(s) for s in self.std],
        }

    def denormalise(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """(..., features) from normalised units back to the series' own."""
        x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
        return x * self.std + self.mean

    def training_windows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every training window at once: inputs (n, window, features), targets (n, horizon, features)."""
        return self.datasets["train"].stacked()

    def _loader(self, split: str, shuffle: bool, batch_size: int) -> DataLoader:
        replicas, rank = replicas_and_rank(self)
        if batch_size < replicas:
            raise TextgruError(
                f"data.{'batch_size' if shuffle else 'eval_batch_size'}={batch_size} is the global batch and must be at "
                f"least the number of processes ({replicas})"
            )
        data = self.datasets[split]
        shares = RankShares(len(data), batch_size, shuffle, self.seed, replicas, rank)
        if shuffle:  # training resumes mid-epoch where it stopped (a review: its batches trained again)
            return ResumableDataLoader(data, batch_sampler=shares, num_workers=self.num_workers, seed=self.seed)
        return evaluation_loader(data, batch_sampler=shares, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True, self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", False, self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False, self.eval_batch_size)
