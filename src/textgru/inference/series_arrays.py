"""A series given to `Forecaster.predict`, `evaluate` or `rollout` as numpy reads it: torch tensors detached, and the
cells pandas calls missing read as NaN, as None and NaN are."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from textgru.errors import TextgruError


def detached(series: Any) -> Any:
    """`series` with each torch tensor in it (itself, or in lists, tuples and object arrays) a numpy array, detached
    and on the CPU (a review: one that requires grad, or a list of its rows, raised torch's "Can't call numpy() on
    Tensor that requires grad"); anything else as given."""
    if isinstance(series, torch.Tensor):
        if series.is_meta:  # a review: NotImplementedError from .cpu(), a traceback
            raise TextgruError("the series is a tensor on the meta device, which holds no values; give real ones")
        values = series.detach().cpu()  # bfloat16, which numpy lacks, as float32 (a review: TypeError, a traceback)
        return (values.float() if values.dtype == torch.bfloat16 else values).numpy()
    if isinstance(series, (list, tuple)) or (isinstance(series, np.ndarray) and series.dtype == object and series.ndim):
        if not any(issubclass(kind, _HOLDERS) for kind in set(map(type, series))):
            return series  # no cell holds a tensor: as given (a million floats in 0.02 s, not 0.9 s a cell at a time)
        return [detached(cell) for cell in series]
    return series


_HOLDERS = (torch.Tensor, list, tuple, np.ndarray)  # the cells that are, or may hold, a tensor


def plain_array(series: Any) -> np.ndarray:
    """`detached(series)` as an array, where it holds objects with the cells pandas calls missing (None, NaN, pd.NaT,
    pd.NA) NaN, as numpy reads None and NaN (a review: pd.NaT was "not numeric"; pd.NA before the rows read was
    refused, a None there was not). numpy's ValueError or TypeError where it is no array (a ragged list)."""
    import pandas as pd

    cells = np.asarray(detached(series))
    return np.where(pd.isna(cells), np.nan, cells) if cells.dtype == object else cells
