"""Plots a user opens: the confusion matrix stays a readable, bounded image however many labels a model has."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from textgru.plots import plot_confusion_matrix, plot_forecast


@pytest.mark.parametrize("n", [3, 60, 400])
def test_confusion_matrix_image_is_bounded_for_many_labels(tmp_path: Path, n: int) -> None:
    """A review: the figure grew 0.9 inch a label with a number in every cell (100 labels: 10,120 px, 4.2 GB; a
    300-label run was killed at 24 GB after training). Now at most 20 inches (2,310 x 2,200 px at 110 dpi)."""
    rng = np.random.default_rng(0)
    labels = [f"label {i} " + "with a long descriptive name\tand a tab" * (i % 2) for i in range(n)]
    out = plot_confusion_matrix(rng.integers(0, 9, (n, n)).tolist(), labels, tmp_path / "cm.png")
    width, height = Image.open(out).size
    assert 300 < width <= 2310 and 300 < height <= 2200, (width, height)


def test_dollar_signs_in_names_are_drawn_as_text(tmp_path: Path) -> None:
    """A review: price-tier labels `$`, `$$`, `$$$` ended a training run at its test step (matplotlib read them as
    math: ParseSyntaxException), with no metrics.json; a forecast column named with `$` would do the same. The
    caller's own setting is left as it was."""
    out = plot_confusion_matrix([[3, 1, 0], [0, 4, 1], [1, 0, 5]], ["$", "$$", "$$$"], tmp_path / "cm.png")
    assert Image.open(out).size[0] > 100
    truth = np.arange(20, dtype=float).reshape(10, 2)
    out = plot_forecast(truth, {"model": truth + 1}, tmp_path / "f.png", columns=["$price", "cost $$"])
    assert Image.open(out).size[0] > 100
    assert matplotlib.rcParams["text.parse_math"] is True


def drawn_figures(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """The figures the plots save, to read the data they were drawn from."""
    drawn: list[Figure] = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (drawn.append(fig), save(fig, *a, **k))[1])
    return drawn


def test_the_gradient_flow_plots_log_ticks_as_plain_powers_of_ten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: every gradient_flow.png read `$\\mathdefault{10^{-2}}$` on its y axis (matplotlib's log labels are
    math text, which literal_text draws as written)."""
    from textgru.plots import plot_gradient_flow

    drawn = drawn_figures(monkeypatch)
    plot_gradient_flow({"gru": ([1e-9, 1e-5, 1e-2], [1e-8, 1e-4, 1e-2])}, tmp_path / "g.png")
    labels = [t.get_text() for t in drawn[0].axes[0].get_yticklabels() if t.get_text()]
    assert "10⁻⁵" in labels and not any("$" in t or "mathdefault" in t for t in labels), labels


def test_plotting_leaves_the_users_matplotlib_backend_alone(tmp_path: Path) -> None:
    """A review in Jupyter: importing textgru's plots switched matplotlib to Agg, so a notebook's inline figures
    stopped showing for the rest of the session, without a word."""
    import subprocess
    import sys

    code = (
        "import matplotlib; matplotlib.use('svg'); from textgru.plots import plot_confusion_matrix; "
        f"plot_confusion_matrix([[3, 1], [0, 4]], ['a', 'b'], {str(tmp_path / 'cm.png')!r}); "
        "print(matplotlib.get_backend())"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "svg" and Image.open(tmp_path / "cm.png").size[0] > 100


def test_characters_no_font_has_are_one_warning_and_an_installed_font_draws_cjk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: CJK label names printed matplotlib's "Glyph ... missing from font(s) DejaVu Sans" warning with its
    source line, several times, and were drawn as boxes, even where a font with them was installed."""
    import warnings

    from textgru.plots import font_family

    with warnings.catch_warnings(record=True) as shown, caplog.at_level("WARNING"):
        warnings.simplefilter("always")
        plot_confusion_matrix([[3, 1], [0, 2]], ["\ue000\ue001", "pos"], tmp_path / "a.png", title="t")
    assert not [w for w in shown if "Glyph" in str(w.message)]
    said = [r.getMessage() for r in caplog.records if r.name == "textgru.plots"]
    assert len(said) == 1 and said[0].startswith("a plot's label or column names hold characters no installed font has")
    if len(font_family()) == 1:
        pytest.skip("no font with CJK characters installed here (e.g. Debian's fonts-wqy-zenhei or fonts-noto-cjk)")
    caplog.clear()
    with caplog.at_level("WARNING"):
        plot_confusion_matrix([[3, 1], [0, 2]], ["日本", "pos"], tmp_path / "b.png", title="t")
    assert not caplog.records, caplog.text


def test_learning_curves_plot_each_epochs_validation_as_train_log_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review (trainer.val_check_interval=4, 12 batches an epoch): train.log said epoch 0's val/macro_f1 0.6951
    (the best checkpoint's) and epoch 1's 0.5636; the plot drew an epoch's first validation, 0.333 (the untrained
    model's, at step 4) and 0.657, at epochs 1 and 2. Now each epoch's last, at train.log's epoch numbers; the
    best checkpoint's re-scoring logged after training (epoch 2, step 24) is left out, on either axis."""
    from textgru.plots import plot_learning_curves

    csv = tmp_path / "metrics.csv"
    csv.write_text(
        "epoch,step,train/loss_epoch,train/macro_f1,val/macro_f1,test/macro_f1\n"
        "0,3,,,0.3333,\n0,7,,,0.4198,\n0,11,,,0.6951,\n0,11,0.71,0.40,,\n"  # a validation every 4 steps, then training's
        "1,15,,,0.6571,\n1,19,,,0.6812,\n1,23,,,0.5636,\n1,23,0.66,0.66,,\n"
        "2,24,,,0.6951,\n2,24,,,,0.43\n",  # the best checkpoint re-scored after training, and the test
        encoding="utf-8",
    )
    drawn = drawn_figures(monkeypatch)
    assert plot_learning_curves(csv, tmp_path / "curves.png") == tmp_path / "curves.png"
    _, f1 = drawn[0].axes
    curves = {line.get_label(): line for line in f1.get_lines()}
    assert list(curves["validation"].get_ydata()) == [0.6951, 0.5636], list(curves["validation"].get_ydata())
    assert list(curves["validation"].get_xdata()) == [0, 1], list(curves["validation"].get_xdata())
    assert list(curves["train"].get_xdata()) == [0, 1] and list(curves["train"].get_ydata()) == [0.40, 0.66]
    assert all(float(t).is_integer() for t in f1.get_xticks()), f1.get_xticks()  # epochs, not 0.2 steps of one
    assert f1.get_xlabel() == "epoch"
    plot_learning_curves(csv, tmp_path / "steps.png", x="step")  # a step axis (the LMs'): every validation
    validation = [line for line in drawn[1].axes[1].get_lines() if line.get_label() == "validation"][0]
    assert list(validation.get_xdata()) == [3, 7, 11, 15, 19, 23]


@pytest.mark.parametrize("x", ["epoch", "step"])
def test_a_single_epochs_learning_curves_have_whole_ticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, x: str
) -> None:
    """A review (trainer.max_steps=2): a one-epoch run's learning_curves.png ticked its epoch axis -0.045..0.045
    around the one point at 0; MaxNLocator(integer=True) falls back to fractions with fewer than 2 integers in view."""
    from textgru.plots import plot_learning_curves

    csv = tmp_path / "metrics.csv"
    csv.write_text(
        "epoch,step,train/loss_epoch,train/loss_step,val/loss,val/macro_f1,train/macro_f1,test/macro_f1\n"
        "0,0,,0.69,,,,\n0,0,,,0.71,0.49,,\n0,0,0.69,,,,0.20,\n"
        "1,1,,,0.71,0.49,,\n1,1,,,,,,0.40\n",  # the best checkpoint re-scored after training, and the test
        encoding="utf-8",
    )
    drawn = drawn_figures(monkeypatch)
    plot_learning_curves(csv, tmp_path / "curves.png", x=x)
    for ax in drawn[0].axes:
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks == [0], (ax.get_title(), list(ax.get_xticks()))
