"""A review of the forecaster: what its evaluation, its statistics and its reading of a CSV got wrong, each fixed."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_script
from hydra import compose, initialize_config_dir

from textgru.config import CONF_DIR

TINY = [
    "model.hidden_size=8",
    "model.num_layers=1",
    "data.batch_size=32",
    "data.window=8",
    "trainer.max_steps=2",
    "logger.tensorboard=false",
    "trainer.enable_progress_bar=false",
    "+trainer.enable_model_summary=false",
]


def _train(run: Path, *overrides: str) -> dict:
    """A two-step forecaster run into `run`; its metrics."""
    from textgru.training import train

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["task=forecast", *TINY, *overrides, f"paths.run_dir={run}"])
    return train(cfg)


def _write(path: Path, values: np.ndarray, dates: bool = True) -> Path:
    """A CSV of `values` (one column, y) with a date column, oldest first."""
    days = np.datetime64("2020-01-01") + np.arange(len(values))
    path.write_text("date,y\n" + "".join(f"{d},{float(v)!r}\n" for d, v in zip(days, values, strict=True)))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run folder, its CSV of 200 rows) of a tiny forecaster trained with data.time_column=date."""
    root = tmp_path_factory.mktemp("review")
    csv = _write(root / "series.csv", np.sin(np.arange(200) / 5) + 2)
    _train(root / "run", "data=local_csv", f"data.path={csv}", "data.time_column=date")
    return root / "run", csv


def test_eval_batch_size_of_a_forecaster_is_one_line(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """`textgru eval ckpt_path=<forecaster> batch_size=1` was taken and ignored."""
    run, _ = trained
    r = run_script("eval", f"ckpt_path={run}", "batch_size=1", f"output_dir={tmp_path / 'out'}")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "batch_size=1: a forecaster scores its windows" in r.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_python_api_messages_name_its_arguments_and_a_mapping_needs_no_time_column(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """`evaluate('gaps.csv')` said "set data.fill_missing=interpolate" (the argument is fill_missing="interpolate");
    `evaluate({'path': 'nodate.csv'})` failed "data.time_column 'date' is not a column" though none was given."""
    import textgru
    from textgru.errors import TextgruError

    run, csv = trained
    fc = textgru.load(run)
    lines = csv.read_text().splitlines()
    gaps = tmp_path / "gaps.csv"
    gaps.write_text("\n".join(lines[:50] + ["2020-02-19,"] + lines[51:]) + "\n")
    with pytest.raises(TextgruError, match=r'pass fill_missing="interpolate" to fill them linearly$') as e:
        fc.evaluate(gaps)
    assert "data." not in str(e.value)
    with pytest.raises(TextgruError, match=r"^time_column 'when' is not a column of series.csv"):
        fc.evaluate(csv, time_column="when")
    nodate = tmp_path / "nodate.csv"
    nodate.write_text("".join(line.split(",")[1] + "\n" for line in lines))
    assert fc.evaluate({"path": str(nodate)}, "all")["mse"] == pytest.approx(fc.evaluate(nodate)["mse"])


def test_evaluates_keywords_apply_to_a_data_config_and_are_refused_where_they_cannot_apply(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """A review: `evaluate({'path': gaps}, fill_missing="interpolate")` said to set the fill_missing just given, and
    `time_column=` was ignored for a mapping, an array and a DataFrame (the model's column was used unsaid)."""
    import pandas as pd

    import textgru
    from textgru.config import data_config
    from textgru.errors import TextgruError

    run, csv = trained
    fc = textgru.load(run)
    lines = csv.read_text().splitlines()
    gaps = tmp_path / "gaps.csv"
    gaps.write_text("\n".join(lines[:50] + ["2020-02-19,"] + lines[51:]) + "\n")
    filled = fc.evaluate(gaps, "all", fill_missing="interpolate")["mse"]
    assert fc.evaluate({"path": str(gaps)}, "all", fill_missing="interpolate")["mse"] == pytest.approx(filled)
    whole = {**data_config("local_csv"), "window": fc.window, "horizon": fc.horizon, "path": str(gaps)}  # a review:
    assert fc.evaluate(whole, "all", fill_missing="interpolate")["mse"] == pytest.approx(filled)  # its defaults unset
    with pytest.raises(TextgruError, match=r"^time_column='when' and the data config's time_column='date': give one"):
        fc.evaluate({**whole, "time_column": "date"}, "all", time_column="when")
    with pytest.raises(TextgruError, match=r"^data.time_column 'when' is not a column of series.csv"):
        fc.evaluate({"path": str(csv)}, "all", time_column="when")
    frame = pd.read_csv(csv)
    with pytest.raises(TextgruError, match=r"^fill_missing='interpolate' fills a CSV file's gaps; fill an array or"):
        fc.evaluate(pd.read_csv(gaps), fill_missing="interpolate")
    with pytest.raises(TextgruError, match=r"^time_column='when' is not a column of the DataFrame; it has: \['date'"):
        fc.evaluate(frame, time_column="when")
    with pytest.raises(TextgruError, match=r"^time_column='date': an array has no columns"):
        fc.evaluate(frame[fc.columns].to_numpy(), time_column="date")
    newest_first = frame.iloc[::-1].rename(columns={"date": "day"})  # sorted by the column named
    assert fc.evaluate(newest_first, time_column="day")["mse"] == pytest.approx(fc.evaluate(frame)["mse"])
    series = newest_first.set_index("day")["y"]  # a pandas Series is a one-column frame: its index named so
    assert fc.evaluate(series, time_column="day")["mse"] == pytest.approx(fc.evaluate(frame)["mse"])
    with pytest.raises(TextgruError, match=r"^time_column='when' is not the name of the Series' index \('day'\)"):
        fc.evaluate(series, time_column="when")
    with pytest.raises(TextgruError, match=r"^the series holds complex numbers"):  # a review: cast to real, unsaid
        fc.evaluate(frame[["y"]] + 1j)


def test_a_tab_separated_or_parquet_file_is_named_so_in_eval_and_training(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """A review: eval of a TSV said the model's columns were "not a column" (training named the tab), and a Parquet
    file was "not a readable CSV file: Error tokenizing data. C error: Expected 1 fields in line 10, saw 2"."""
    import textgru
    from textgru.data.series import read_csv_series
    from textgru.errors import TextgruError

    run, csv = trained
    tsv = tmp_path / "series.tsv"
    tsv.write_text(csv.read_text().replace(",", "\t"))
    with pytest.raises(TextgruError, match=r"it looks separated by '\\t', not commas: save it as CSV with commas$"):
        textgru.load(run).evaluate(tsv)
    for start, kind in [
        (b"PAR1\x15\x04", "a Parquet"),
        (b"ARROW1\x00", "an Arrow (Feather)"),
        (b"PK\x03\x04", "an Excel"),
    ]:
        end = {"a Parquet": b"PAR1", "an Arrow (Feather)": b"ARROW1"}.get(kind, b"")  # their last bytes too
        (tmp_path / "s.xlsx").write_bytes(start + bytes(range(256)) * 4 + end)
        with pytest.raises(
            TextgruError, match=rf"^s.xlsx is {re.escape(kind)} file, not CSV; save it as CSV \(pandas: "
        ):
            read_csv_series(tmp_path / "s.xlsx")
    (tmp_path / "par.csv").write_text("PAR1,b\n" + "".join(f"{i}.5,{i % 3}\n" for i in range(30)))  # a review: a
    assert read_csv_series(tmp_path / "par.csv").columns == ["PAR1", "b"]  # CSV whose first column is PAR1
    (tmp_path / "x.csv").write_bytes(b"PAR1\x15\x04" + bytes(range(256)) + b"PAR1")  # named .csv: not told to
    with pytest.raises(TextgruError, match=r"df\.to_csv\('x-converted\.csv', index=False\)"):  # overwrite itself
        read_csv_series(tmp_path / "x.csv")
    (tmp_path / "s.zip").write_bytes((tmp_path / "s.xlsx").read_bytes())  # PK: a zip archive is not called Excel
    with pytest.raises(TextgruError) as e:
        read_csv_series(tmp_path / "s.zip")
    assert "Excel" not in str(e.value)


def test_predict_reads_only_its_window_for_gaps_and_names_the_shape_given(trained: tuple[Path, Path]) -> None:
    """A review: a gap long before the last `window` rows refused a forecast that never reads it; pd.NA was "not
    numeric"; a 2-D array of the wrong width said the shape, a 1-D one a shape it was not given."""
    import pandas as pd

    import textgru
    from textgru.data.series_cells import frame_values
    from textgru.errors import TextgruError

    run, csv = trained
    fc = textgru.load(run)
    y = pd.read_csv(csv)["y"].to_numpy()
    early_gap = y.copy()
    early_gap[0] = np.nan
    np.testing.assert_allclose(fc.predict(early_gap), fc.predict(y))
    late_gap = y.copy()
    late_gap[-1] = np.nan
    with pytest.raises(TextgruError, match=r"^the series holds missing or infinite values"):
        fc.predict(late_gap)
    with pytest.raises(TextgruError, match=r"^the series has shape \(40, 2\); this model reads \(time, 1\)"):
        fc.predict(np.zeros((40, 2)))
    nullable = pd.DataFrame({"y": pd.array(y, dtype="Float64"), "when": range(len(y))})
    nullable.loc[0, "y"] = pd.NA  # pandas' NA, before the window: read as missing, not "not numeric (NAType)"
    np.testing.assert_allclose(fc.predict(nullable), fc.predict(y[:, None]))
    mixed = pd.DataFrame({"y": nullable["y"], "z": y})  # a nullable column beside a float one: NaN, not pd.NA
    assert (
        np.isnan(frame_values(mixed, ["y", "z"], None)[0, 0]) and frame_values(mixed, ["y", "z"], None).dtype == float
    )
    with pytest.raises(TextgruError, match=r"^the series holds missing or infinite values"):  # was "(pd.NA)"
        fc.predict(pd.DataFrame({"y": pd.Series([*y[:-1], pd.NA], dtype=object)}))  # a column of objects
    fc.columns = ["y", "z"]  # as a two-column model: a 1-D series is named as given, not as (n, 1)
    with pytest.raises(TextgruError, match=rf"^the series has shape \({len(y)},\); this model reads \(time, 2\)"):
        fc.predict(y)


def test_predict_takes_a_tensor_that_requires_grad(trained: tuple[Path, Path]) -> None:
    """A review: a tensor with requires_grad=True (a model's output), or a list of its rows, raised torch's "Can't
    call numpy() on Tensor that requires grad"; it is read detached, as the same values in numpy are."""
    import pandas as pd
    import torch

    import textgru

    run, csv = trained
    fc = textgru.load(run)
    y = pd.read_csv(csv)["y"].to_numpy()
    t = torch.tensor(y, dtype=torch.float32, requires_grad=True)
    want = fc.predict(t.detach().numpy())
    for given, ndim in ((t, 1), (t[:, None], 2), (list(t), 1), (list(t[:, None]), 2), (pd.Series(list(t)), 1)):
        np.testing.assert_allclose(fc.predict(given), want if ndim == 1 else want[:, None])
    np.testing.assert_allclose(fc.predict(pd.Series(list(t)).to_numpy()), want)  # an array of the tensor's cells
    assert fc.evaluate(t) == fc.evaluate(t.detach().numpy())
    windows = t[None, -fc.window :, None]
    np.testing.assert_allclose(fc.rollout(windows), fc.rollout(windows.detach().numpy()))
    half = t.to(torch.bfloat16)  # a review: numpy has no bfloat16 (a TypeError traceback), a meta tensor no values
    as_floats = fc.predict(half.float().detach().numpy())
    np.testing.assert_allclose(fc.predict(half), as_floats)
    np.testing.assert_allclose(fc.predict(list(half)), as_floats)
    windows = half[None, -fc.window :, None]
    np.testing.assert_allclose(fc.rollout(windows), fc.rollout(windows.float().detach().numpy()))
    with pytest.raises(textgru.TextgruError, match="^the series is a tensor on the meta device, which holds no"):
        fc.predict(torch.ones(50, device="meta"))


def test_a_series_without_tensors_is_not_copied_cell_by_cell() -> None:
    """A review: every cell of a plain list went through a Python call (a million-row list read in 0.9 s where numpy
    takes 0.03 s); a list, tuple or object array with no tensor in it is given back as it is, one with one is read."""
    from textgru.inference.series_arrays import detached

    plain = [float(i) for i in range(1000)] + [None, float("nan")]
    assert detached(plain) is plain
    assert detached(tuple(plain)) == tuple(plain)
    cells = np.array(["1", 2.0, None], dtype=object)
    assert detached(cells) is cells
    mixed = [1.0, torch.tensor(2.0, requires_grad=True), [torch.tensor(3.0)]]
    read = detached(mixed)
    assert read is not mixed and isinstance(read[1], np.ndarray) and isinstance(read[2][0], np.ndarray)


def test_nat_and_na_in_a_list_are_missing_as_none_is(trained: tuple[Path, Path]) -> None:
    """A review: pd.NaT among numbers was "not numeric", and pd.NA before the window refused where None is read as
    missing: each is missing as None and NaN are (of any float type): refused in the rows read, not before them."""
    import pandas as pd

    import textgru
    from textgru.errors import TextgruError

    run, csv = trained
    fc = textgru.load(run)
    y = list(pd.read_csv(csv)["y"])
    for gap in (None, float("nan"), np.float32("nan"), pd.NaT, pd.NA):
        np.testing.assert_allclose(fc.predict([gap, *y[1:]]), fc.predict(y), err_msg=repr(gap))
        np.testing.assert_allclose(fc.predict(pd.Series([gap, *y[1:]], dtype=object)), fc.predict(y))
        with pytest.raises(TextgruError, match=r"^the series holds missing or infinite values"):
            fc.predict([*y[:-1], gap])
        with pytest.raises(TextgruError, match=r"^the windows hold missing or infinite values"):
            fc.rollout([[[v] for v in [*y[-fc.window : -1], gap]]])


def test_iso_dates_with_spaces_around_them_are_sorted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A newest-first CSV written "date , y" ("2020-07-18 ,") was read in file order, backwards, with a warning to
    write ISO 8601 (which it was); a DataFrame's such dates too."""
    import logging

    import pandas as pd

    from textgru.data.series import read_csv_series
    from textgru.data.series_cells import frame_values

    days = [str(np.datetime64("2020-07-01") + i) for i in range(20)][::-1]
    (tmp_path / "spaced.csv").write_text("date , y\n" + "".join(f"{d} , {i}\n" for i, d in enumerate(days)))
    with caplog.at_level(logging.WARNING, logger="textgru"):
        series = read_csv_series(tmp_path / "spaced.csv", time_column="date")
        frame = pd.DataFrame({"date": [f" {d} " for d in days], "y": np.arange(20.0)})
        values = frame_values(frame, ["y"], "date")
    assert series.values[:, 0].tolist() == list(range(19, -1, -1))
    assert np.asarray(values)[:, 0].tolist() == list(range(19, -1, -1))
    assert "do not read as numbers or ISO 8601" not in caplog.text
    assert caplog.text.count("not in time order") == 2


def test_a_column_constant_but_for_rounding_is_constant(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A column constant apart from float rounding (std ~1e-17 on the training span) was scaled by ~1e17, unwarned
    (test/ar_mse 1e28); a series of tiny values that vary is not constant."""
    import logging

    from conftest import data_cfg

    from textgru.data.forecast_datamodule import ForecastDataModule

    n = 200
    rounded = [0.30000000000000004 if i % 3 else 0.3 for i in range(n)]  # 0.1 + 0.2 and 0.3
    tiny = 1e-25 * np.sin(np.arange(n) / 5)
    (tmp_path / "s.csv").write_text("a,b,c\n" + "".join(f"{r!r},{float(np.sin(i / 5))!r},{float(t)!r}\n" for i, (r, t) in
                                                        enumerate(zip(rounded, tiny, strict=True))))  # fmt: skip
    cfg = {**data_cfg("local_csv"), "path": str(tmp_path / "s.csv"), "window": 8, "horizon": 1}
    dm = ForecastDataModule(cfg)
    with caplog.at_level(logging.WARNING, logger="textgru"):
        dm.setup()
    assert 0 < np.std(rounded[:140]) < 1e-15 and dm.std[0] == 1.0
    assert dm.std[1] == pytest.approx(np.std(np.sin(np.arange(140) / 5))) and 0 < dm.std[2] < 1e-24
    assert "column(s) ['a'] are constant over the training span" in caplog.text


def test_eval_and_resume_of_a_forecaster_warn_where_its_csv_changed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its checkpoint recorded no digest of its CSV (data=local_csv), so an evaluation of its own file, edited since
    training (cut from 200 rows to 150: a test span of training and validation rows), said nothing, nor a resume."""
    import logging
    import shutil

    import textgru

    csv = _write(tmp_path / "series.csv", np.sin(np.arange(200) / 5) + 2)
    shutil.copy(csv, tmp_path / "copy.csv")
    _train(tmp_path / "run", "data=local_csv", f"data.path={csv}")
    fc = textgru.load(tmp_path / "run")
    assert fc.meta["data_digest"]
    warned = "series.csv changed since the model was trained: the test split carved from it now may hold rows"
    with caplog.at_level(logging.WARNING, logger="textgru"):
        fc.evaluate()
        fc.evaluate({"path": str(tmp_path / "copy.csv")})
    assert warned not in caplog.text
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:-1] + [lines[-1].replace(",", ",1")]) + "\n")  # a test-span value: same statistics
    r = run_script("train", f"resume={tmp_path / 'run'}", "trainer.max_steps=4")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "series.csv changed since the run started" in r.stderr
    csv.write_text("\n".join(lines[:151]) + "\n")
    for data, split in ((None, None), ({"path": str(csv)}, None), (str(csv), "test"), ({"path": str(csv)}, "all")):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="textgru"):
            fc.evaluate(data, split)
        assert (warned in caplog.text) == (split != "all"), (data, split, caplog.text)


def test_interpolation_fills_each_span_from_itself_and_the_past(tmp_path: Path) -> None:
    """data.fill_missing=interpolate filled a gap across the training/validation boundary from the validation value
    after it: validation values leaked into training rows and the training mean and std."""
    from conftest import data_cfg

    from textgru.data.forecast_datamodule import ForecastDataModule

    y = np.sin(np.arange(200) / 5) + 2
    y[130:146] = np.nan  # validation begins at row 140 (15% validation, 15% test of 200 rows)
    cfg = {**data_cfg("local_csv"), "fill_missing": "interpolate", "window": 8, "horizon": 1, "time_column": "date"}
    modules = []
    for last_gap_value in (y[129], 50.0):  # the validation value after the gap changed
        z = y.copy()
        z[146] = last_gap_value
        dm = ForecastDataModule({**cfg, "path": str(_write(tmp_path / f"{len(modules)}.csv", z))})
        dm.setup()
        modules.append(dm)
    a, b = modules
    assert a.spans == b.spans and a.spans["validation"] == (140, 170)
    np.testing.assert_array_equal(a.series.values[:140], b.series.values[:140])
    assert (a.mean, a.std) == (b.mean, b.std)
    assert (a.series.values[130:140, 0] == y[129]).all()  # a gap at a span's end: its last value, carried on
    assert a.series.values[141, 0] == pytest.approx(y[129])  # the next span's part: between the values around it
    assert b.series.values[141, 0] == pytest.approx(y[129] + (50 - y[129]) * 12 / 17)


def test_numbers_with_a_sign_or_unit_are_named_and_a_lone_counter_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: a stock download's `$100.13` price columns were left out without a word (only Volume trained), and
    a file of `5.00%` values trained on its row counter alone, exit 0."""
    import logging

    from textgru.data.series import read_csv_series
    from textgru.errors import TextgruError

    rows = "".join(f"2020-01-{i + 1:02d},${100 + i % 7}.13,{1000 + i * 7 % 13},-${i}\n" for i in range(28))
    (tmp_path / "stock.csv").write_text("Date,Close/Last,Volume,Change\n" + rows)
    with caplog.at_level(logging.WARNING, logger="textgru"):
        series = read_csv_series(tmp_path / "stock.csv", time_column="Date")
    assert series.columns == ["Volume"]
    for column, cell in (("Close/Last", "$100.13"), ("Change", "-$0")):
        assert (
            f"column {column!r} is left out of the series; its numbers are written with a currency sign or percent "
            in caplog.text
        )
        assert f"({cell!r})" in caplog.text
    (tmp_path / "pct.csv").write_text("date,value\n" + "".join(f"{i},{i % 9}.00%\n" for i in range(60)))
    with pytest.raises(TextgruError, match=r"^pct.csv: the only numeric column, 'date', rises by 1 every row, like a "
                       r"time index, .* set data.time_column=date .*'value': its numbers are written with a currency "
                       r"sign or percent \('0.00%'\)"):  # fmt: skip
        read_csv_series(tmp_path / "pct.csv")
    assert read_csv_series(tmp_path / "pct.csv", columns=["date"]).columns == ["date"]  # named: taken as asked
    (tmp_path / "labels.csv").write_text("day,hour,value\n" + "".join(f"{i % 28 + 1} Jan,{i % 12 + 1}am,{i % 5}.5\n"
                                                                       for i in range(40)))  # fmt: skip
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textgru"):  # a review of the change: dates and hours, told to be
        assert read_csv_series(tmp_path / "labels.csv").columns == ["value"]  # stripped to numbers and forecast
    assert "currency" not in caplog.text, caplog.text


def test_a_json_file_given_as_a_series_csv_is_named(tmp_path: Path) -> None:
    """A review: JSON lines were "no numeric column" (or a header error), as if a CSV; data=local takes JSON."""
    from textgru.data.series import read_csv_series
    from textgru.errors import TextgruError

    lines = "".join(f'{{"date": "2020-01-{i + 1:02d}", "value": {i}}}\n' for i in range(20))
    columns = '{"date": {"0": "2020-01-01", "1": "2020-01-02"},\n "value": {"0": 1, "1": 2}}'  # pandas' to_json()
    for name, text, how in (("a.jsonl", lines, ", lines=True"), ("b.json", "[" + lines.replace("\n", ",")[:-1] + "]", ""),
                            ("c.csv", lines, ", lines=True"), ("d.json", columns, ""), ("e.json", lines, ", lines=True")):  # fmt: skip
        (tmp_path / name).write_text(text)
        stem = name.split(".")[0]
        fix = f"(pandas: pd.read_json('{name}'{how}).to_csv('{stem}.csv', index=False))"
        with pytest.raises(TextgruError, match=rf"^{name} is a JSON file, not CSV; save it as CSV {re.escape(fix)}"):
            read_csv_series(tmp_path / name, time_column="date")


def test_a_frames_columns_are_matched_without_the_spaces_training_strips(trained: tuple[Path, Path]) -> None:
    """A review: read_csv of a header "date, y" names the column ' y', which training reads as 'y'; predict on such
    a DataFrame said it lacked 'y' (not showing ' y')."""
    import pandas as pd

    import textgru
    from textgru.errors import TextgruError

    run, csv = trained
    fc = textgru.load(run)
    frame = pd.read_csv(csv)
    np.testing.assert_allclose(fc.predict(frame.rename(columns={"y": " y ", "date": " date"})), fc.predict(frame))
    with pytest.raises(TextgruError, match=r"lacks the column\(s\) \['y'\] .*; it has 'date', 'z'$"):
        fc.predict(frame.rename(columns={"y": "z"}))


def test_blank_lines_are_missing_values_in_training_and_scoring(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """A review: pandas skipped blank lines, as Excel writes an empty cell of a one-column CSV (and lines of spaces):
    the series lost its gaps and shifted in time (97 rows of 100), data.fill_missing=error said nothing; blank lines
    before the header and after the last row are no time steps, left out."""
    import textgru
    from textgru.data.series import read_csv_series
    from textgru.errors import TextgruError

    run, _ = trained
    y = [repr(float(v)) for v in np.sin(np.arange(100) / 5) + 2]
    holes = {20: "", 50: " ", 70: ""}  # a line of one space: skipped too
    single = tmp_path / "single.csv"
    single.write_text("\n\ny\n" + "".join(f"{holes.get(i, v)}\n" for i, v in enumerate(y)) + "\n \n")
    nan = tmp_path / "nan.csv"  # the same gaps written as pandas' NaN
    nan.write_text("y\n" + "".join(f"{'nan' if i in holes else v}\n" for i, v in enumerate(y)))
    missing = r"^single.csv has 3 missing values in \['y'\] \(the first in row 22\); (set data.|pass )fill_missing="
    with pytest.raises(TextgruError, match=missing):
        read_csv_series(single)
    with pytest.raises(TextgruError, match=missing):
        _train(tmp_path / "run", "data=local_csv", f"data.path={single}")
    assert not (tmp_path / "run").exists()
    filled = read_csv_series(single, fill_missing="interpolate").values[:, 0]
    assert len(filled) == 100 and filled[99] == float(y[99])  # in time: the rows after a gap stay where they were
    assert filled[20] == pytest.approx((float(y[19]) + float(y[21])) / 2)
    fc = textgru.load(run)  # scoring reads a file as training does
    with pytest.raises(TextgruError, match=missing):
        fc.evaluate(single)
    scored = fc.evaluate(single, fill_missing="interpolate")["mse"]
    assert scored == fc.evaluate(nan, fill_missing="interpolate")["mse"]


@pytest.fixture(scope="module")
def two_columns(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run folder, its CSV: date, open, close, name; 200 rows) of a tiny forecaster trained with data.columns=null
    (every numeric column: open, close), data.time_column=date and 5% validation and test spans."""
    import pandas as pd

    root, t = tmp_path_factory.mktemp("two_columns"), np.arange(200)
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=200).strftime("%Y-%m-%d")})
    frame = frame.assign(open=np.sin(t / 5) * 10 + 50, close=np.cos(t / 7) * 10 + 30, name=[f"n{i}" for i in t])
    frame.to_csv(root / "q.csv", index=False)
    overrides = ["data=local_csv", f"data.path={root / 'q.csv'}", "data.time_column=date"]
    _train(root / "run", *overrides, "data.val_fraction=0.05", "data.test_fraction=0.05")
    return root / "run", root / "q.csv"


def test_eval_of_its_own_csv_reads_the_models_columns_by_name(two_columns: tuple[Path, Path]) -> None:
    """A review: a forecaster trained with data.columns=null, scored on its own CSV (`textgru eval ckpt_path=<run>`,
    evaluate()), read the file's numeric columns by position: the file's columns reordered since, each was scored as
    the other (an MSE 100 times training's; with split=all, unwarned), and a numeric column added was "the series
    has shape (200, 3); this model reads (time, 2) for ['open', 'close']"; evaluate(data config) read them by name."""
    import pandas as pd

    import textgru
    from textgru.errors import TextgruError

    run, csv = two_columns
    fc, original = textgru.load(run), csv.read_text()
    scores = {split: fc.evaluate(None, split)["mse"] for split in ("test", "all")}
    frame = pd.read_csv(csv)
    try:
        for changed in (frame[["date", "close", "open", "name"]], frame.assign(volume=np.arange(200.0))):
            changed.to_csv(csv, index=False)
            assert {split: fc.evaluate(None, split)["mse"] for split in scores} == pytest.approx(scores)
        frame.drop(columns="open").to_csv(csv, index=False)
        with pytest.raises(TextgruError, match=r"^this model forecasts \['open', 'close'\]: 'open', not a column of"):
            fc.evaluate()
    finally:
        csv.write_text(original)


def test_eval_of_a_csv_carves_the_models_split_unless_the_command_line_types_fractions(
    two_columns: tuple[Path, Path], tmp_path: Path
) -> None:
    """A review: `textgru eval ckpt_path=<run> data=local_csv data.path=<file>` carved "test" with local_csv.yaml's
    15%, not the model's 5% as evaluate(path) does: 30 windows of 200 rows, of a file holding the model's data newest
    first two thirds of them rows it trained on, unwarned. A fraction typed on the command line is kept."""
    import json

    import pandas as pd

    import textgru

    run, csv = two_columns
    pd.read_csv(csv).iloc[::-1].to_csv(tmp_path / "newest_first.csv", index=False)
    assert textgru.load(run).evaluate(tmp_path / "newest_first.csv", "test")["windows"] == 10  # 5% of 200 rows
    for typed, windows in (((), 10), (("data.test_fraction=0.15",), 30)):
        out, data = tmp_path / f"out{windows}", ["data=local_csv", f"data.path={tmp_path / 'newest_first.csv'}"]
        r = run_script("eval", f"ckpt_path={run}", *data, *typed, f"output_dir={out}")
        assert r.returncode == 0, r.stderr[-2000:]
        assert json.loads((out / "test_metrics.json").read_text())["windows"] == windows, typed


def _edited(trained: tuple[Path, Path], to: Path, field: str, value) -> Path:
    """The tiny forecaster's best.ckpt with `field` of its metadata (`normalisation.mean`: in that mapping) set to
    `value` (DROP: left out), saved as `to`."""
    ckpt = torch.load(trained[0] / "checkpoints" / "best.ckpt", weights_only=True)
    *above, key = field.split(".")
    meta = ckpt["textgru"][above[0]] if above else ckpt["textgru"]
    if value is DROP:
        del meta[key]
    else:
        meta[key] = value
    torch.save(ckpt, to)
    return to


DROP = object()
TWO = {"mean": [0.0, 0.0], "std": [1.0, 1.0]}


@pytest.mark.parametrize(
    "said,field,value",
    [
        ("normalisation is missing", "normalisation", DROP),
        ("normalisation='x' is not a mapping", "normalisation", "x"),
        ("normalisation.columns=[5] is not a list of column names", "normalisation.columns", [5]),
        ("normalisation.columns names 'y' more than once", "normalisation", {"columns": ["y", "y"], **TWO}),
        ("normalisation.columns names 2 columns but num_features is 1", "normalisation", {"columns": ["y", "z"], **TWO}),
        ("normalisation.mean=['x'] is not a list of numbers", "normalisation.mean", ["x"]),
        ("normalisation.mean=tensor([0., 0., 0.]) is not a list of numbers", "normalisation.mean", torch.zeros(3)),
        ("normalisation.mean has 0 values for 1 column", "normalisation.mean", []),
        ("normalisation.mean holds nan; each column's mean must be finite", "normalisation.mean", [float("nan")]),
        ("normalisation.std holds 0.0; each column's std must be finite and above 0", "normalisation.std", [0.0]),
        ("normalisation.std holds -0.68; each column's std must be finite and above 0", "normalisation.std", [-0.68]),
        ("window is missing", "window", DROP),
        ("window=3.7 is not a positive integer", "window", 3.7),
        ("horizon=0 is not a positive integer", "horizon", 0),
        ("horizon=True is not a positive integer", "horizon", True),
    ],
)  # fmt: skip
def test_a_forecaster_checkpoints_normalisation_window_and_horizon_are_checked_at_load(
    trained: tuple[Path, Path], tmp_path: Path, said: str, field: str, value
) -> None:
    """A review: a checkpoint's normalisation, window or horizon not as textgru writes them was a KeyError, TypeError or
    a GRU's shape error, or loaded and scored NaN (mean NaN), wrong values (std -0.68) or one step (horizon 0), where an
    export's config.json is held to the same rule (`forecast_fields`): now one line naming the file and the field."""
    import textgru
    from textgru.errors import TextgruError

    bad = _edited(trained, tmp_path / "edited.ckpt", field, value)
    with pytest.raises(TextgruError, match=f"^checkpoint {re.escape(repr(str(bad)))}: {re.escape(said)}; use the file"):
        textgru.load(bad)


def test_a_forecaster_checkpoint_refused_at_load_is_refused_by_eval_and_export(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """A review: `textgru eval` of a checkpoint whose mean was NaN wrote mse NaN with exit 0; `textgru export` of one
    whose std was negative wrote an export that `textgru.load` then refused ("export again", which could not help)."""
    nan = _edited(trained, tmp_path / "nan.ckpt", "normalisation.mean", [float("nan")])
    r = run_script("eval", f"ckpt_path={nan}", f"output_dir={tmp_path / 'out'}")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "normalisation.mean holds nan" in r.stderr.strip().splitlines()[-1] and not (tmp_path / "out").exists()
    pytest.importorskip("onnxscript")
    import textgru
    from textgru.errors import TextgruError

    negative = _edited(trained, tmp_path / "negative.ckpt", "normalisation.std", [-0.68])
    with pytest.raises(TextgruError, match=r"normalisation\.std holds -0\.68; each column's std must be finite"):
        textgru.export(negative, tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_evaluate_refuses_split_fractions_that_are_no_share_of_the_series(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """A review: `evaluate({'path': ..., 'test_fraction': 2})` scored every window, training rows too, as "test";
    'abc' and None were a ValueError and a TypeError traceback. One line each; a share as text is read as a number."""
    import textgru

    run, csv = trained
    other = tmp_path / "other.csv"  # not the model's own file: its fractions are the ones given
    rows = csv.read_text().splitlines()
    other.write_text("\n".join([rows[0], *reversed(rows[1:])]) + "\n")
    fc = textgru.load(run)
    for value in (2, "abc", None, -0.5, 0, True):
        with pytest.raises(textgru.TextgruError, match=r"^data test_fraction=.*: must be a number in \(0, 1\), the"):
            fc.evaluate({"path": str(other), "test_fraction": value})
    with pytest.raises(textgru.TextgruError, match=r"^data val_fraction=0.5 and test_fraction=0.6 add up to 1 or"):
        fc.evaluate({"path": str(other), "val_fraction": 0.5, "test_fraction": 0.6})
    assert fc.evaluate({"path": str(other), "test_fraction": "0.2"}) == fc.evaluate(
        {"path": str(other), "test_fraction": 0.2}
    )


def test_elapsed_times_order_the_rows_and_a_true_false_time_column_is_one_line(trained: tuple[Path, Path]) -> None:
    """A review: a time column of timedeltas (elapsed hours) raised pandas' TypeError from `tz_convert`, and one of
    true/false values a TypeError too (a Hydra traceback on the command line)."""
    import pandas as pd

    import textgru

    run, csv = trained
    fc = textgru.load(run)
    df = pd.read_csv(csv)
    want = fc.predict(df)  # its dates, oldest first
    df["date"] = pd.to_timedelta(np.arange(len(df)), unit="h")
    np.testing.assert_allclose(fc.predict(df), want)
    np.testing.assert_allclose(fc.predict(df[::-1]), want)  # newest first: sorted by the elapsed times
    df["date"] = np.arange(len(df)) % 2 == 0
    with pytest.raises(textgru.TextgruError, match=r"date holds true/false values, not times; name a column of dates"):
        fc.predict(df)
