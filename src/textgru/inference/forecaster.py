"""`Forecaster`: a trained GRU forecaster rebuilt from its checkpoint alone, to forecast the next values of a series
and to score its roll-outs on a series against the last-value forecast."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textgru.errors import TextgruError, require_split
from textgru.inference.arguments import positive_int
from textgru.inference.eval_mode import eval_mode
from textgru.inference.forecast_messages import as_python_arguments, named_as_the_models, own_columns
from textgru.inference.loaded_model import EvalOptions, LoadedModel
from textgru.inference.series_arrays import detached, plain_array

log = logging.getLogger(__name__)
MOST_STEPS = 100_000  # a roll-out's horizon: a GRU step each (10**5: ~6 s on one core)


class Forecaster(LoadedModel):
    """A forecaster (`task=forecast` checkpoint): `Forecaster.load(path).predict(series)` gives the next `horizon`
    values after the series' last `window` rows, in the series' own units."""

    task = "forecast"

    def __init__(self, model: torch.nn.Module, meta: Mapping[str, Any]) -> None:
        self.model = model
        self.meta = dict(meta)
        norm = self.meta["normalisation"]
        self.columns: list[str] = list(norm["columns"])
        self.mean = np.asarray(norm["mean"], dtype=np.float64)  # (features,)
        self.std = np.asarray(norm["std"], dtype=np.float64)  # (features,)
        self.window, self.horizon = int(self.meta["window"]), int(self.meta["horizon"])

    @classmethod
    def from_parts(cls, model: torch.nn.Module, meta: dict[str, Any]) -> Forecaster:
        return cls(model, meta)

    def describe(self) -> str:
        return f"columns={self.columns}, window={self.window}, horizon={self.horizon}"

    @property
    def time_column(self) -> str | None:
        """The time column the model was trained with (`data.time_column`), or None."""
        return (self.meta.get("data_config") or {}).get("time_column") or None

    def _values(self, series: Any, time_column: str | None = None, last: int | None = None) -> np.ndarray:
        """(time, features) float64 from an array-like, or a DataFrame or pandas Series holding the model's columns
        (`frame_values`: in time order); finite in its `last` rows (all: None)."""
        from textgru.data.series_cells import frame_values

        series = frame_values(series, self.columns, time_column or self.time_column)
        try:
            cells = plain_array(series)  # tensors detached; pd.NaT, pd.NA: NaN, as None is
            if np.iscomplexobj(cells):  # float64 would drop the imaginary part with numpy's warning
                raise TextgruError("the series holds complex numbers; this model forecasts real values")
            if cells.dtype.kind in "mM":  # a review: dates became nanosecond counts, forecast as values
                raise TextgruError("the series holds dates or durations; give the values to forecast, not the times")
            if cells.dtype.kind == "b":  # a review: forecast as 0/1, where a CSV's are refused
                raise TextgruError("the series holds true/false values; give numbers (as floats, if you mean 0 and 1)")
            values = np.asarray(cells, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TextgruError(f"the series is not numeric ({str(e)[:80]})") from None
        if values.ndim == 0:  # None, a number, a string of digits: "the series has shape ()" named nothing
            raise TextgruError(f"the series is one value ({str(series)[:40]!r}); give a sequence of numbers")
        shape, values = values.shape, values[:, None] if values.ndim == 1 else values  # as given (a review: (400, 1))
        if values.ndim != 2 or values.shape[1] != len(self.columns):
            raise TextgruError(
                f"the series has shape {shape}; this model reads (time, {len(self.columns)}) for {self.columns}"
            )
        if not (np.abs(values[-(last or len(values)) :]) <= np.finfo(np.float32).max).all():  # NaN too; float32
            raise TextgruError("the series holds missing or infinite values (or past float32's range); fill them first")
        return values

    @torch.inference_mode()
    def rollout(self, windows: np.ndarray, horizon: int | None = None) -> np.ndarray:
        """Forecasts (n, horizon, features) in the series' units for windows (n, window, features) in them."""
        horizon = self.horizon if horizon is None else positive_int(horizon, "horizon")
        if horizon > MOST_STEPS:  # a step at a time: 10**7 ran for minutes and past 5 GB
            raise TextgruError(
                f"horizon={horizon:,} is more than {MOST_STEPS:,} steps; forecast in parts (each appended to the series)"
            )
        windows = detached(windows)  # a tensor that requires grad (a review: torch's "Can't call numpy()")
        shape = np.shape(windows)  # another shape ran, read as other windows: (12, 1) as 12 windows of one row
        if len(shape) != 3 or shape[1:] != (self.window, len(self.columns)):
            raise TextgruError(
                f"rollout takes windows of shape (n, {self.window}, {len(self.columns)}), {self.window} rows of "
                f"{self.columns} each, not {shape}; predict(series) reads a series' last {self.window} rows"
            )
        try:  # predict's checks (a review: a NaN was NaN here and a number from an export; strings a traceback)
            windows = np.asarray(plain_array(windows), dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TextgruError(f"the windows are not numeric ({str(e)[:80]})") from None
        if not (np.abs(windows) <= np.finfo(np.float32).max).all():
            raise TextgruError("the windows hold missing or infinite values (or past float32's range); fill them first")
        x = torch.tensor((windows - self.mean) / self.std, dtype=torch.float32, device=self.device)
        with eval_mode(self.model):  # a review: in train mode, dropout gave another forecast each call
            pred = self.model.rollout(x, horizon)  # (n, horizon, features), normalised
        return pred.double().cpu().numpy() * self.std + self.mean

    def predict(self, series: Any, horizon: int | None = None) -> np.ndarray:
        """The next `horizon` values (default: the trained horizon) after the last `window` rows of `series`
        ((time,) or (time, features), or a DataFrame with the model's columns): (horizon,) or (horizon, features)."""
        series = detached(series)  # a list of a tensor's rows too (np.ndim below)
        values = self._values(series, last=self.window)  # the rows read (a review: a gap long before was refused)
        if len(values) < self.window:
            raise TextgruError(f"the series has {len(values)} rows; this model reads the last {self.window}")
        out = self.rollout(values[None, -self.window :], horizon)[0]  # (horizon, features)
        return out[:, 0] if np.ndim(series) == 1 else out

    def _config_values(self, cfg: Mapping[str, Any], given: bool = False) -> np.ndarray:
        """A data config's series, a CSV's columns read by name as the model's (`given`: data.columns set by the caller,
        checked to be them), never by position (a review: evaluate() of its own file, trained with data.columns=null
        and its columns reordered since, scored each column as the other)."""
        from textgru.data.series import load_series

        if cfg.get("source") == "local_csv":  # its data.columns as trained (null: every numeric one) are the model's
            cfg = {**cfg, "columns": own_columns(cfg.get("columns") if given else None, self.columns)}
        with named_as_the_models(not given, self.columns):
            return self._values(load_series(dict(cfg), time_column_if_present=self.time_column).values)

    def command_eval(self, data: dict[str, Any] | None, split: str, opts: EvalOptions) -> tuple[dict[str, Any], str]:
        """`textgru eval`: `evaluate` in fp32, with its own window and horizon; the report and its table."""
        from textgru.inference.typed_keys import check_forecast_sizes

        if opts.precision != "fp32":
            raise TextgruError(f"precision={opts.precision} is for classifiers; a forecaster evaluates in fp32 only")
        data = check_forecast_sizes(self, data)
        result = self.evaluate(data, split, output_dir=opts.output_dir, overwrite=opts.overwrite)
        return result, "\n".join(f"{k:<10} {v:.6g}" for k, v in result.items() if isinstance(v, float))

    def evaluate(
        self,
        data: Any = None,
        split: str | None = None,
        time_column: str | None = None,
        output_dir: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        fill_missing: str = "error",
    ) -> dict[str, Any]:
        """MSE and MAE of `horizon`-step roll-outs on a series, against the last-value forecast on the same windows.

        `data`: None (the series the model was trained on; `split` "test" by default, or "validation", "train",
        "all"), a path to a CSV file holding the model's columns (every window: `split` "all"; rows in the order of
        `time_column`, by default the model's where the file has it; `fill_missing="interpolate"` fills gaps), a
        data config mapping (its `window` and `horizon` must be the model's), or an array / DataFrame. With
        `output_dir`, `<split>_metrics.json` and `<split>_forecast.png` (the span against the model's and the
        last-value roll-outs) are written there too (an earlier report there is refused unless `overwrite`)."""
        from textgru.atomic_files import written_together
        from textgru.checkpoint_state import scored_state
        from textgru.data.series import read_csv_series
        from textgru.data.series_spans import split_bounds
        from textgru.inference.forecast_messages import check_fractions, check_frame_keywords, config_keywords
        from textgru.inference.reports import REPORT_FIX, report_path, write_json
        from textgru.inference.trained_split import as_trained, own_data_config, warn_if_changed

        require_split(split)
        if fill_missing not in ("error", "interpolate"):  # a review: "ffill" was taken, unread
            raise TextgruError(f"fill_missing={fill_missing!r}: use 'error' or 'interpolate' (linear)")
        cfg = own_data_config(self.meta, needed=True, fix="it holds the split fractions; use the file textgru saved")
        read_from: Mapping[str, Any] | None = None  # the data config of a CSV read, to warn where the model's changed
        if data is None:
            values, read_from = self._config_values(cfg), cfg
            split = split or "test"
        elif isinstance(data, Mapping):
            for key, own in (("window", self.window), ("horizon", self.horizon)):  # ignored, they gave other metrics
                if key in data and str(data[key]).strip() != str(own):  # "1" is 1 (a review: "1 ... is 1; drop it")
                    raise TextgruError(
                        f"data {key}={data[key]}: this forecaster's {key} is {own}, fixed by its checkpoint; drop it"
                    )
            # the model's own series (by path, or a copy by content): its spans as in training
            cfg = as_trained({**cfg, **data}, cfg, self.meta.get("data_digest"))
            check_fractions(data, cfg)  # a review: test_fraction=2 scored every window as "test"
            if "time_column" not in data:  # the model's where the file has it, as for a path (a review of the
                cfg["time_column"] = None  # forecaster: a file without it failed "data.time_column 'date' ...")
            cfg |= config_keywords(data, time_column, fill_missing)
            values = self._config_values(cfg, given=data.get("columns") is not None)
            split, read_from = split or "test", cfg
        elif isinstance(data, (str, os.PathLike)):
            if not Path(data).expanduser().is_file():  # a review: the line named data.path=, no argument here
                rel = "" if Path(data).expanduser().is_absolute() else f" (relative to {Path.cwd()})"
                raise TextgruError(f"{str(data)!r} is not a file{rel}; give a CSV file's path, an array or a DataFrame")
            with named_as_the_models(True, self.columns), as_python_arguments():
                fractions = (float(cfg["val_fraction"]), float(cfg["test_fraction"]))  # the spans scored
                series = read_csv_series(
                    Path(data), self.columns, time_column, fill_missing, self.time_column, fractions
                )
            values, read_from = self._values(series.values), {**cfg, "path": str(Path(data).expanduser())}
            split = split or "all"
        else:
            check_frame_keywords(data, time_column, fill_missing)
            values, split = self._values(data, time_column), split or "all"
        n, w, h = len(values), self.window, self.horizon
        val_start, test_start = split_bounds(n, float(cfg["val_fraction"]), float(cfg["test_fraction"]))
        spans = {"train": (0, val_start), "validation": (val_start, test_start), "test": (test_start, n), "all": (0, n)}
        if split not in spans:
            raise TextgruError(f"unknown split {split!r}; use one of {list(spans)}")
        if read_from is not None and split != "all":  # the model's own file, its spans carved again: changed?
            warn_if_changed(read_from, self.meta["data_config"], self.meta.get("data_digest"), split, "rows")
        lo, hi = spans[split]
        report = report_path(output_dir, split, overwrite, "forecast.png", self.meta.get("path"))
        starts = list(range(max(lo - w, 0), hi - w - h + 1))  # targets inside [lo, hi); inputs may reach back
        if not starts:
            raise TextgruError(  # a review: it named neither the rows there were nor what to do
                f"the {split} span (rows {lo}-{hi} of {n}) has no window of {w} + {h} rows (this model's window and "
                f"horizon); give a series of at least {w + h} rows" + ("" if split == "all" else ", or split=all")
            )
        windows = np.stack([values[s : s + w] for s in starts])  # (n, window, features)
        targets = np.stack([values[s + w : s + w + h] for s in starts])  # (n, horizon, features)
        pred = np.concatenate([self.rollout(windows[i : i + 512]) for i in range(0, len(windows), 512)])
        naive = np.repeat(windows[:, -1:], h, axis=1)
        result = {
            "mse": float(((pred - targets) ** 2).mean()),
            "mae": float(np.abs(pred - targets).mean()),
            "naive_mse": float(((naive - targets) ** 2).mean()),
            "naive_mae": float(np.abs(naive - targets).mean()),
            "windows": len(starts),
            "split": split,
            "checkpoint": str(self.meta.get("path")),
            **scored_state(self.meta),  # which state of the file (a run evaluated while it trained)
        }
        if report is not None:
            report.parent.mkdir(parents=True, exist_ok=True)  # the plot, then the JSON that marks a report there
            plot = report.with_name(f"{split}_forecast.png")
            with written_together([plot, report], overwrite, REPORT_FIX) as (plot_tmp, report_tmp):
                self._plot(values[starts[0] + w : hi], {"GRU": pred, "last value": naive}, result, plot_tmp)
                write_json(result, report_tmp)
            log.info("wrote %s and %s", report, plot)
        return result

    def _plot(self, truth: np.ndarray, rollouts: dict[str, np.ndarray], result: dict, out: Path) -> None:
        """The forecast plot at `out`: the span's values (time, features) against one roll-out every
        `horizon` steps of each (windows, horizon, features), so that each value is forecast once."""
        from textgru.plots import nan_padded, plot_forecast, rollouts_caption

        h, split = self.horizon, result["split"]
        forecasts = {
            name: nan_padded(pred[::h].reshape(-1, pred.shape[-1]), len(truth)) for name, pred in rollouts.items()
        }
        mse, naive = result["mse"], result["naive_mse"]
        title = f"{split} ({len(truth)} steps), {rollouts_caption(h)}: MSE {mse:.4g} (last value {naive:.4g})"
        span = "the series" if split == "all" else f"the {split} span"
        plot_forecast(truth, forecasts, out, self.columns, title=title, xlabel=f"step of {span}")
