"""A forecaster's fields beside its weights (window, horizon, each column's name, mean and std), checked by one rule
where a checkpoint (`textgru.checkpoint`) or an export's config.json (`textgru.onnx_format`) is read: one line naming
the file and the field (a review: a checkpoint's were a KeyError, a GRU's shape error, or NaN scored with exit 0, where
an export's were refused)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from textgru.errors import TextgruError, cut_at_word


def _shown(value: Any) -> str:
    return cut_at_word(" ".join(repr(value).split()), 60)  # a tensor's repr: several lines


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int past float's range
        return False


def forecast_field_problem(fields: Mapping[str, Any], features: Any, features_key: str, stats: str = "") -> str | None:
    """The first of `fields` (window, horizon, columns, mean, std) that textgru does not write, said as a phrase, or
    None; `features`: the model's input features, as the file's `features_key` says (not an int: not compared);
    `stats`: the prefix naming columns, mean and std in the file ("normalisation." in a checkpoint)."""
    for key in ("window", "horizon"):
        value = fields.get(key)
        if type(value) is not int or value < 1:  # a bool, 3.7 (read as 3), "32"
            return f"{key} is missing" if value is None else f"{key}={_shown(value)} is not a positive integer"
    columns, name = fields.get("columns"), f"{stats}columns"
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) and c.strip() for c in columns):
        return f"{name} is missing" if columns is None else f"{name}={_shown(columns)} is not a list of column names"
    if twice := sorted({c for c in columns if columns.count(c) > 1}):
        return f"{name} names {twice[0][:40]!r} more than once"
    if type(features) is int and len(columns) != features:  # (else a GRU's shape error, or the series refused)
        return f"{name} names {_count(len(columns), 'column')} but {features_key} is {features}"
    for key in ("mean", "std"):
        value, name = fields.get(key), f"{stats}{key}"
        if not isinstance(value, list) or not all(type(v) in (int, float) for v in value):  # not a tensor, a str
            return f"{name} is missing" if value is None else f"{name}={_shown(value)} is not a list of numbers"
        if len(value) != len(columns):
            return f"{name} has {_count(len(value), 'value')} for {_count(len(columns), 'column')}"
        if bad := [v for v in value if not _finite(v) or (key == "std" and v <= 0)]:  # a review: std 0 scored NaN
            return f"{name} holds {_shown(bad[0])}; each column's {key} must be finite{' and above 0' * (key == 'std')}"
    return None


def check_forecast_checkpoint(meta: Mapping[str, Any], where: str) -> None:
    """One line for a forecaster checkpoint's `normalisation`, window or horizon that `forecast_field_problem`
    refuses (other tasks: nothing); its columns are held to the model's `num_features` (GRUForecaster's default 1)."""
    if meta.get("task") != "forecast":
        return
    norm = meta.get("normalisation")
    if isinstance(norm, dict):
        args = meta.get("model_args", meta.get("model_config"))  # format 2, or format 1's Hydra config
        features = args.get("num_features", 1) if isinstance(args, dict) else None  # else the rebuild refuses it
        problem = forecast_field_problem({**norm, "window": meta.get("window"), "horizon": meta.get("horizon")},
                                         features, "num_features", "normalisation.")  # fmt: skip
    else:
        problem = "normalisation is missing" if norm is None else f"normalisation={_shown(norm)} is not a mapping"
    if problem:
        raise TextgruError(f"checkpoint {where!r}: {problem}; use the file textgru saved")
