"""A series' chronological spans (training, validation, test) and the gaps `data.fill_missing=interpolate` fills in
them: each span from its own values and those before it, never from a later span's (a review of the forecaster:
a gap across the training span's end was filled toward the first validation value, into training rows and the
training statistics)."""

from __future__ import annotations

import logging
from typing import Any

from textgru.errors import TextgruError

log = logging.getLogger(__name__)


def split_bounds(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Row indices where validation and test begin: the last rows are test, the ones before them validation."""
    test_start = n - int(round(n * test_fraction))
    return test_start - int(round(n * val_fraction)), test_start


def interpolated(frame: Any, times: Any, name: str, fractions: tuple[float, float] | None = None) -> tuple[Any, Any]:
    """Gaps filled linearly between the values around them; rows before a column's first value or after its last
    are dropped (filled with the nearest value, a trailing gap became test targets that were scored, made up). With
    `fractions` (validation, test), each span of the rows kept is filled from itself and the rows before it only: a
    gap that runs past a span's end carries that span's last value to it."""
    import pandas as pd

    at = {label: i for i, label in enumerate(frame.index)}  # labels in time order -> positions
    lo = max(at[frame[c].first_valid_index()] for c in frame)
    hi = min(at[frame[c].last_valid_index()] for c in frame) + 1
    if hi - lo < 2:
        raise TextgruError(
            f"{name}: the columns {list(frame.columns)} have values in common over {max(hi - lo, 0)} row(s); "
            "interpolation fills gaps between values, not before or after them: choose columns with data.columns=[...]"
        )
    missing = int(frame.iloc[lo:hi].isna().sum().sum())
    if fractions is None:
        filled = frame.interpolate(limit_area="inside").iloc[lo:hi]
    else:
        val_start, test_start = split_bounds(hi - lo, *fractions)
        bounds = [b for b in (0, val_start, test_start, hi - lo) if 0 <= b <= hi - lo]
        parts = [  # (rows, features) each: the span, filled from the rows up to its end, last values carried on
            frame.iloc[: lo + end].interpolate(limit_area="inside").ffill().iloc[lo + start :]
            for start, end in zip(bounds, bounds[1:], strict=False)
            if end > start
        ]
        filled = pd.concat(parts)
    times = None if times is None else times.iloc[lo:hi]
    said = [f"filled {missing} missing value(s) by linear interpolation"] if missing else []
    if lo > 0 or hi < len(at):
        said.append(f"dropped {lo} row(s) at the start and {len(at) - hi} at the end, where a column had no value")
    used = "; filled values are used as if observed, in training and in scoring" if missing else ""
    log.warning("%s (data.fill_missing=interpolate): %s%s", name, " and ".join(said), used)
    return filled, times
